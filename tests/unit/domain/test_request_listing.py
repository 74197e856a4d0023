"""The requests listing's query and cursor: opaque, bound to its endpoint, and refused (never crashing)
when it is anything but a cursor this listing issued (contract §9)."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from session_ingest import limits
from session_ingest.domain.request_lifecycle import RequestStatus
from session_ingest.domain.request_listing import (
    ListingPosition,
    decode_cursor,
    encode_cursor,
    parse_listing_query,
)
from session_ingest.errors import InvalidListingQuery

ENDPOINT = str(uuid.uuid4())
OTHER_ENDPOINT = str(uuid.uuid4())
POSITION = ListingPosition("2026-06-14T23:00:00.123456Z", str(uuid.uuid4()))


def test_a_cursor_names_its_position_for_its_endpoint() -> None:
    # When a position is encoded and decoded for the same endpoint
    cursor = encode_cursor(ENDPOINT, POSITION)
    # Then it is the same position
    assert decode_cursor(ENDPOINT, cursor) == POSITION


def test_a_cursor_is_opaque_text_that_fits_a_query_string() -> None:
    # When a cursor is made
    cursor = encode_cursor(ENDPOINT, POSITION)
    # Then it is URL-safe and shows neither the request id nor the time in the clear
    assert all(c.isalnum() or c in "-_." for c in cursor)
    assert POSITION.request_id not in cursor
    assert POSITION.accepted_at not in cursor
    assert len(cursor) <= limits.MAX_CURSOR_CHARS


def test_a_cursor_of_another_endpoint_is_refused() -> None:
    # Given a cursor issued for another endpoint's listing
    cursor = encode_cursor(OTHER_ENDPOINT, POSITION)
    # When this endpoint's listing is given it
    # Then it is refused as belonging to another listing
    with pytest.raises(InvalidListingQuery, match="another listing") as refused:
        decode_cursor(ENDPOINT, cursor)
    assert refused.value.parameter == "cursor"


def _reencoded(document: dict[str, object], digest_of: str = ENDPOINT) -> str:
    """A cursor whose payload was edited while keeping the original digest."""
    original_digest = encode_cursor(digest_of, POSITION).split(".")[1]
    payload = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + original_digest


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("not-a-cursor", id="no-digest"),
        pytest.param("a.b.c", id="three-parts"),
        pytest.param("%%%.%%%", id="not-base64"),
        pytest.param("x" * (limits.MAX_CURSOR_CHARS + 1) + ".AA", id="too-long"),
        pytest.param(encode_cursor(ENDPOINT, POSITION)[:-3], id="truncated-digest"),
        pytest.param(encode_cursor(ENDPOINT, POSITION)[3:], id="truncated-payload"),
        pytest.param(
            _reencoded({"v": 1, "e": ENDPOINT, "a": "2099-01-01T00:00:00.000000Z", "r": POSITION.request_id}),
            id="edited-time",
        ),
        pytest.param(
            _reencoded({"v": 1, "e": ENDPOINT, "a": POSITION.accepted_at, "r": "x"}), id="edited-id"
        ),
        pytest.param(base64.urlsafe_b64encode(b"[1,2]").decode() + ".AAAA", id="not-an-object"),
    ],
)
def test_a_tampered_or_made_up_cursor_is_refused(cursor: str) -> None:
    # When the listing is given a cursor it did not issue
    # Then it is an InvalidListingQuery (a 400), never another error
    with pytest.raises(InvalidListingQuery):
        decode_cursor(ENDPOINT, cursor)


def test_a_re_signed_cursor_with_a_bad_position_is_still_refused() -> None:
    # Given a cursor whose digest was recomputed over a position that is not a stored one
    from session_ingest.domain import request_listing

    payload = json.dumps({"a": "yesterday", "e": ENDPOINT, "r": POSITION.request_id, "v": 1}).encode()
    digest = request_listing._digest(ENDPOINT, payload)
    cursor = f"{request_listing._b64encode(payload)}.{request_listing._b64encode(digest)}"
    # Then its position is checked too, so nothing malformed reaches DynamoDB
    with pytest.raises(InvalidListingQuery):
        decode_cursor(ENDPOINT, cursor)


@given(st.text(max_size=200))
def test_no_text_makes_decoding_fail_other_than_as_invalid(text: str) -> None:
    # When any text is decoded as a cursor
    # Then it is refused as a listing error (a 400) and nothing else escapes
    with contextlib.suppress(InvalidListingQuery):
        decode_cursor(ENDPOINT, text)


def test_query_parameters_become_the_listing_asked_for() -> None:
    # When every parameter is given
    cursor = encode_cursor(ENDPOINT, POSITION)
    query = parse_listing_query(
        ENDPOINT, {"status": "failed", "since": "2026-06-14T09:00:00+10:00", "limit": "10", "cursor": cursor}
    )
    # Then each is parsed: the status, the time in UTC, the page size and the position
    assert query.status is RequestStatus.FAILED
    assert query.since == datetime(2026, 6, 13, 23, 0, tzinfo=UTC)
    assert (query.limit, query.after) == (10, POSITION)


def test_without_parameters_the_listing_is_the_first_default_page() -> None:
    query = parse_listing_query(ENDPOINT, {})
    assert (query.status, query.since, query.limit, query.after) == (
        None,
        None,
        limits.DEFAULT_REQUESTS_PAGE,
        None,
    )


@pytest.mark.parametrize(
    ("parameters", "parameter"),
    [
        pytest.param({"status": "done"}, "status", id="unknown-status"),
        pytest.param({"since": "yesterday"}, "since", id="since-not-a-time"),
        pytest.param({"since": "0001-01-01T00:00:00+01:00"}, "since", id="since-before-utc-time"),
        pytest.param({"limit": "0"}, "limit", id="limit-zero"),
        pytest.param({"limit": str(limits.MAX_REQUESTS_PAGE + 1)}, "limit", id="limit-too-big"),
        pytest.param({"limit": "-5"}, "limit", id="limit-negative"),
        pytest.param({"limit": "\u0661\u0660"}, "limit", id="limit-non-ascii-digits"),
        pytest.param({"cursor": "zzz"}, "cursor", id="cursor"),
        pytest.param({"stauts": "failed"}, "stauts", id="unknown-parameter"),
        pytest.param({"": "x"}, "", id="unnamed-parameter"),
        pytest.param({"since": ""}, "since", id="since-empty"),
    ],
)
def test_an_unusable_parameter_is_refused_by_name(parameters: dict[str, str], parameter: str) -> None:
    with pytest.raises(InvalidListingQuery) as refused:
        parse_listing_query(ENDPOINT, parameters)
    assert refused.value.parameter == parameter
