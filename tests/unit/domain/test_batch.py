"""Batch ingest's pure rules (contract §4b): a body's items, each item's verdict, accept times, status."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from session_ingest import limits
from session_ingest.domain.batch import (
    ItemStatus,
    StoredBatchClaim,
    batch_items,
    batch_status,
    item_accept_time,
    judge_batch_repeat,
    judge_items,
    payload_verdict,
)
from session_ingest.domain.idempotency import Repeat
from session_ingest.domain.models import EndpointConfig, MappingRules
from session_ingest.errors import MalformedJson, ValidationFailed

CONFIG = EndpointConfig(
    endpoint_id="e", organisation="acme", event_id=1, created_at=datetime(2026, 1, 1, tzinfo=UTC)
)


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_the_items_of_a_batch_body_are_its_payloads_in_order() -> None:
    # Given a body of two payloads
    items = [{"session": {"name": "a"}}, {"session": {"name": "b"}}]
    # When read / Then they are the items, in order
    assert batch_items(body({"items": items})) == items


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"items": []}, "not 0"),
        ({"items": [{}] * (limits.MAX_BATCH_ITEMS + 1)}, f"not {limits.MAX_BATCH_ITEMS + 1}"),
        ({"items": {"session": {}}}, "must be an object whose items"),
        ({"sessions": [{}]}, "must be an object whose items"),
        ([{"session": {}}], "must be an object whose items"),
    ],
    ids=["empty", "too many", "not an array", "no items key", "bare array"],
)
def test_a_body_without_1_to_100_items_is_a_validation_error_on_items(document: Any, message: str) -> None:
    # Given a body whose items are missing, empty, too many or not an array
    # When read
    with pytest.raises(ValidationFailed) as raised:
        batch_items(body(document))
    # Then the one detail names `items`
    (detail,) = raised.value.errors
    assert detail.field == "items"
    assert message in detail.message


def test_a_payload_as_deep_as_a_single_body_allows_is_accepted_inside_a_batch() -> None:
    # Given a payload nesting exactly the single body's limit (its own object is one level)
    payload = {"session": {"name": "n"}, "extra": nested(limits.MAX_JSON_DEPTH - 1)}
    # When read inside a batch / Then it is an item, and one level more is malformed as it would be alone
    assert batch_items(body({"items": [payload]})) == [payload]
    with pytest.raises(MalformedJson):
        batch_items(body({"items": [{"extra": nested(limits.MAX_JSON_DEPTH)}]}))


def test_malformed_json_is_malformed_for_the_whole_batch() -> None:
    # Given a body with a duplicate key inside an item
    # When read / Then the batch is malformed (400), as a single body would be
    with pytest.raises(MalformedJson, match="duplicate key"):
        batch_items(b'{"items": [{"session": {"name": "a", "name": "b"}}]}')


def test_each_item_is_judged_as_it_would_be_alone() -> None:
    # Given a valid item, an item with a bad field and an item that is not an object
    items: list[Any] = [
        {"session": {"name": "ok", "start_time": "2026-06-15 09:00:00"}},
        {"session": {"start_time": "yesterday"}},
        "not an object",
    ]
    # When judged
    judged = judge_items(CONFIG, items)
    # Then verdicts are by index and the same as the single endpoint's rule gives
    assert [(item.index, item.valid, item.error_type) for item in judged] == [
        (0, True, None),
        (1, False, "validation_error"),
        (2, False, "validation_error"),
    ]
    assert [item.mapped for item in judged] == [payload_verdict(CONFIG, item) for item in items]
    assert judged[0].mapped.record == {"name": "ok", "start_time": "2026-06-15T09:00:00Z"}
    assert [error.field for error in judged[1].mapped.errors] == ["start_time"]


def test_the_endpoints_mapping_and_schema_apply_to_every_item() -> None:
    # Given an endpoint mapping the record from the payload root and requiring "title" by schema
    config = CONFIG.model_copy(
        update={
            "mapping": MappingRules(root_key=None, fields={"name": "title"}),
            "json_schema": {"type": "object", "required": ["title"]},
        }
    )
    # When items with and without a title are judged
    judged = judge_items(config, [{"title": "Mapped"}, {"name": "no title"}])
    # Then the first maps through the rules and the second fails the schema
    assert judged[0].mapped.record == {"name": "Mapped"}
    assert not judged[1].valid


def test_an_item_larger_than_a_single_body_may_be_is_invalid_as_too_large() -> None:
    # Given an item just over 256 KiB once encoded
    big = {"session": {"description": "d" * limits.MAX_BODY_BYTES}}
    # When judged with a small one
    judged = judge_items(CONFIG, [big, {"session": {"name": "small"}}])
    # Then only the big one is refused, as payload_too_large
    assert [(item.valid, item.error_type) for item in judged] == [(False, "payload_too_large"), (True, None)]


def test_accept_times_increase_with_the_item_index() -> None:
    # Given a batch accepted at one instant
    accepted = datetime(2026, 6, 14, 12, 0, 0, 999_990, tzinfo=UTC)
    # When each item's accept time is taken
    times = [item_accept_time(accepted, index) for index in range(limits.MAX_BATCH_ITEMS)]
    # Then they strictly increase, one microsecond apart, from the batch's
    assert times[0] == accepted
    assert all(later > earlier for earlier, later in itertools.pairwise(times))


Q, INVALID, RETRY = ItemStatus.QUEUED, ItemStatus.INVALID, ItemStatus.RETRY


@pytest.mark.parametrize(
    ("statuses", "status"),
    [
        ([Q, Q], 200),
        ([Q, INVALID], 207),
        ([INVALID, INVALID], 422),
        ([Q, RETRY], 503),
        ([INVALID, RETRY], 503),
    ],
    ids=["all queued", "some invalid", "none valid", "some not taken", "invalid and not taken"],
)
def test_the_answers_status_follows_the_items(statuses: list[ItemStatus], status: int) -> None:
    # Given the items' statuses / Then the answer's status is the contract's
    assert batch_status(statuses) == status


NOW = 1_781_438_405.0


def stored(**changes: Any) -> StoredBatchClaim:
    values: dict[str, Any] = {
        "request_ids": ("r-0", None),
        "body_sha256": "body",
        "complete": False,
        "progress_recorded": False,
        "queued_indexes": frozenset(),
        "accepted_at": datetime.fromtimestamp(NOW - 5, UTC),
        "claimed_at": int(NOW) - 5,
    }
    return StoredBatchClaim(**{**values, **changes})


@pytest.mark.parametrize(
    ("claim", "body", "verdict"),
    [
        (stored(complete=True, progress_recorded=True, queued_indexes=frozenset({0})), "body", Repeat.REPLAY),
        (stored(complete=True, progress_recorded=True), "other", Repeat.CONFLICT),
        (stored(progress_recorded=True), "other", Repeat.CONFLICT),
        (stored(), "body", Repeat.IN_FLIGHT),
        (stored(progress_recorded=True), "body", Repeat.ABANDONED),
        (stored(claimed_at=int(NOW) - limits.IDEMPOTENCY_IN_FLIGHT_SECONDS - 1), "body", Repeat.ABANDONED),
    ],
    ids=["all queued", "other body", "other body, partly queued", "in flight", "partly queued", "stale"],
)
def test_a_repeated_batch_key_is_judged_by_body_and_progress(
    claim: StoredBatchClaim, body: str, verdict: Repeat
) -> None:
    # Given a stored batch claim / When the same key comes again with this body
    # Then a queued batch is replayed, a partly queued or abandoned one finished, another body refused
    assert judge_batch_repeat(claim, body, NOW) is verdict
