"""Per-field last-writer-wins by accept time (contract §6: an older request never overwrites a newer one)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from session_ingest.domain.merge import merge_fields

T0 = datetime(2026, 6, 14, 23, 0, tzinfo=UTC)
EARLIER = T0 - timedelta(seconds=1)
LATER = T0 + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("stored_at", "expected_applied", "expected_stale"),
    [
        pytest.param({}, {"name": "new"}, (), id="never-set field is applied"),
        pytest.param({"name": EARLIER}, {"name": "new"}, (), id="field set by an older request is applied"),
        pytest.param({"name": T0}, {"name": "new"}, (), id="same accept time is applied"),
        pytest.param({"name": LATER}, {}, ("name",), id="field set by a newer request is stale"),
    ],
)
def test_a_field_is_applied_unless_a_newer_request_set_it(
    stored_at, expected_applied, expected_stale
) -> None:
    # Given a stored field accept time  # When a request accepted at T0 sets it
    merge = merge_fields({"name": "stored"}, stored_at, {"name": "new"}, T0)
    # Then it is applied or reported stale
    assert merge.applied == expected_applied
    assert merge.stale == expected_stale


def test_fields_are_judged_one_by_one() -> None:
    # Given one field set later and another set earlier than this request
    stored_at = {"name": LATER, "code": EARLIER}
    # When the request sets both and a third new field
    merge = merge_fields({}, stored_at, {"name": "n", "code": "c", "description": "d"}, T0)
    # Then only the newer request's field is kept back
    assert merge.applied == {"code": "c", "description": "d"}
    assert merge.stale == ("name",)


def test_an_older_request_carrying_the_stored_value_is_neither_written_nor_stale() -> None:
    # Given a uid set by a newer request  # When an older request carries the same uid
    merge = merge_fields(
        {"organisation_uid": "U"}, {"organisation_uid": LATER}, {"organisation_uid": "U"}, T0
    )
    # Then nothing is written and nothing is reported
    assert merge.applied == {}
    assert merge.stale == ()


_UPDATES = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),  # accept time offset (seconds)
        st.dictionaries(
            st.sampled_from(["name", "code", "description", "sort_order"]), st.integers(), max_size=4
        ),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda update: update[0],
)


@given(updates=_UPDATES, seed=st.integers())
def test_any_delivery_order_ends_with_the_newest_value_of_every_field(updates, seed) -> None:
    # Given partial updates with distinct accept times, delivered in a shuffled order
    delivered = list(updates)
    random.Random(seed).shuffle(delivered)
    stored: dict[str, int] = {}
    stored_at: dict[str, datetime] = {}
    # When each is merged into the stored state as it arrives
    for offset, fields in delivered:
        accepted_at = T0 + timedelta(seconds=offset)
        merge = merge_fields(stored, stored_at, fields, accepted_at)
        stored.update(merge.applied)
        stored_at.update(dict.fromkeys(merge.applied, accepted_at))
    # Then every field holds the value of the newest request that set it
    expected: dict[str, int] = {}
    for _offset, fields in sorted(updates, key=lambda update: update[0]):
        expected.update(fields)
    assert stored == expected
