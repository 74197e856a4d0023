"""`ingestctl push`'s client: input, batches and keys, pacing, waits, retries, and following outcomes.

Driven through an injected transport (tests/unit/tooling/fake_batch_api.py) and a fake clock: no network,
no real waiting.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingestctl.push_client import (
    KEY_PREFIX,
    BadInput,
    HttpReply,
    NetworkError,
    PushClient,
    PushOutcome,
    RetryPolicy,
    make_batches,
    parse_payloads,
)
from tests.unit.tooling.fake_batch_api import (
    API_URL,
    ENDPOINT_ID,
    GOOD_TOKEN,
    FakeBatchApi,
    FakeClock,
    session,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> FakeBatchApi:
    return FakeBatchApi(clock)


def client_for(api: FakeBatchApi, token: str = GOOD_TOKEN, **policy: Any) -> PushClient:
    return PushClient(
        API_URL,
        ENDPOINT_ID,
        token,
        transport=api,
        policy=RetryPolicy(**policy),
        sleep=api.clock.sleep,
        clock=api.clock.time,
        wall_clock=api.clock.time,
    )


def push(api: FakeBatchApi, payloads: list[Any], batch_size: int = 100, **options: Any) -> PushOutcome:
    return client_for(api).push(make_batches(payloads, batch_size), **options)


def ndjson(*lines: str) -> bytes:
    return "\n".join(lines).encode()


# ------------------------------------------------------------------------------------------- input


def test_ndjson_yields_one_payload_per_line_and_skips_blank_lines() -> None:
    # Given NDJSON with a blank line
    data = ndjson(json.dumps(session(1)), "", json.dumps(session(2)), "")
    # When parsed
    # Then each non-blank line is one payload, in order
    assert parse_payloads(data) == [session(1), session(2)]


def test_a_json_array_yields_its_elements() -> None:
    # Given a pretty-printed JSON array
    data = json.dumps([session(1), session(2)], indent=2).encode()
    # When parsed / Then its elements are the payloads
    assert parse_payloads(data) == [session(1), session(2)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (ndjson('{"session": {}}', '{"session": {"name": "x",}}'), "line 2:"),
        (ndjson('{"session": {}}', "", '{"a": 1, "a": 2}'), "line 3: duplicate key"),
        (ndjson('{"session": {"sort_order": NaN}}'), "line 1: NaN"),
        (b'[{"session": {}}, ]', "invalid JSON array"),
        (b"", "no payloads"),
        (b"[]", "no payloads"),
        (b"\xff\xfe", "not UTF-8"),
    ],
    ids=["trailing comma", "duplicate key", "NaN", "array syntax", "empty", "empty array", "not utf-8"],
)
def test_malformed_input_is_refused_naming_where(data: bytes, message: str) -> None:
    # Given input that is not strict JSON somewhere
    # When parsed
    # Then BadInput says where
    with pytest.raises(BadInput, match=message):
        parse_payloads(data)


# ----------------------------------------------------------------------------------------- batches


def test_payloads_are_sent_in_batches_of_the_batch_size_in_order(api: FakeBatchApi) -> None:
    # Given 25 payloads and a batch size of 10
    payloads = [session(n) for n in range(25)]
    # When pushed
    outcome = push(api, payloads, batch_size=10)
    # Then three requests carried 10, 10 and 5 items, in input order, and all are queued
    assert [len(call.items) for call in api.posts] == [10, 10, 5]
    assert [payload for _, payload in api.queued] == payloads
    assert outcome.summary()["queued"] == 25
    assert outcome.complete


def test_a_batch_is_closed_early_to_keep_its_body_within_the_byte_limit() -> None:
    # Given payloads of ~400 bytes each and a 1000-byte body limit
    payloads = [session(n, description="d" * 350) for n in range(5)]
    # When batched
    batches = make_batches(payloads, batch_size=100, max_body_bytes=1000)
    # Then no body exceeds the limit and every payload is in exactly one batch, in order
    assert all(len(batch.body) <= 1000 for batch in batches)
    assert [batch.first_index for batch in batches] == [0, 2, 4]
    assert [item for batch in batches for item in json.loads(batch.body)["items"]] == payloads


def test_the_idempotency_key_is_derived_from_the_batch_content() -> None:
    # Given the same payloads written with another key order and spacing, and a changed one
    first = make_batches([{"session": {"name": "a", "code": "c"}}])[0]
    same = make_batches(parse_payloads(b'{ "session" : { "code": "c",  "name": "a" } }'))[0]
    changed = make_batches([{"session": {"name": "b", "code": "c"}}])[0]
    scoped = make_batches([{"session": {"name": "a", "code": "c"}}], key_scope="run-2")[0]
    # Then equal content gets the same key, different content or scope another, all within 255 chars
    assert first.idempotency_key == same.idempotency_key
    assert first.idempotency_key.startswith(KEY_PREFIX)
    assert len({first.idempotency_key, changed.idempotency_key, scoped.idempotency_key}) == 3
    assert len(first.idempotency_key) <= 255


# ---------------------------------------------------------------------------------------- pacing


def test_with_the_window_used_up_the_next_batch_waits_for_its_reset(api: FakeBatchApi) -> None:
    # Given an endpoint allowing 2 requests a minute, 20 s into the minute
    api.rate_limit_per_minute = 2
    # When 3 batches are pushed
    outcome = push(api, [session(n) for n in range(3)], batch_size=1)
    # Then the client waited out the 40 s left (RateLimit-Reset) instead of meeting a 429
    assert api.clock.sleeps == [40]
    assert [call.items for call in api.posts] == [[session(0)], [session(1)], [session(2)]]
    assert outcome.complete


def test_a_429_is_waited_out_for_retry_after_and_the_batch_sent_again(api: FakeBatchApi) -> None:
    # Given a service answering the first batch with 429 Retry-After 30
    api.faults = [HttpReply(429, {"retry-after": "30"}, b'{"error_type": "rate_limited"}')]
    # When pushed
    outcome = push(api, [session(1)])
    # Then the client slept 30 s, sent the same request again and it was queued
    assert api.clock.sleeps == [30]
    first, second = api.posts
    assert (first.body, first.headers["Idempotency-Key"]) == (second.body, second.headers["Idempotency-Key"])
    assert outcome.summary()["queued"] == 1


def test_a_retry_after_given_as_an_http_date_is_honoured(api: FakeBatchApi) -> None:
    # Given a 503 whose Retry-After is a date 12 s from now
    api.clock.now = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    date = "Thu, 01 Jan 2026 00:00:12 GMT"
    api.faults = [HttpReply(503, {"retry-after": date}, b"{}")]
    # When pushed
    push(api, [session(1)])
    # Then it waited 12 s
    assert api.clock.sleeps == [12]


# ---------------------------------------------------------------------------------------- retries


def test_a_503_part_way_through_a_batch_is_retried_with_the_same_key_without_a_second_copy(
    api: FakeBatchApi,
) -> None:
    # Given 30 payloads and a queue that takes only 12 of them on the first send
    payloads = [session(n) for n in range(30)]
    api.sqs_capacity = [12]
    # When pushed in one batch
    outcome = push(api, payloads)
    # Then the client waited the 503's Retry-After and sent the same body under the same key
    first, second = api.posts
    assert api.clock.sleeps == [2]
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.body == second.body
    # And every payload is queued exactly once, in order, with one request id each
    assert [payload for _, payload in api.queued] == payloads
    summary = outcome.summary()
    assert (summary["queued"], summary["failed"], summary["problems"]) == (30, 0, [])


def test_network_errors_and_5xx_are_retried_with_growing_backoff(api: FakeBatchApi) -> None:
    # Given a connection reset, then a 502 from the gateway, then the real answer
    api.faults = [NetworkError("connection reset"), HttpReply(502, {}, b"<html>Bad Gateway</html>")]
    # When pushed
    outcome = push(api, [session(1)])
    # Then it backed off twice, the second wait longer than the first's floor, and the item is queued
    assert len(api.clock.sleeps) == 2
    assert 0.25 <= api.clock.sleeps[0] <= 0.5 < api.clock.sleeps[1] <= 1.0
    assert outcome.complete


def test_a_service_that_keeps_failing_is_given_up_on_and_the_rest_reported_not_queued(
    api: FakeBatchApi,
) -> None:
    # Given a service answering 500 to everything
    api.faults = [HttpReply(500, {}, b'{"error_type": "internal_error"}')] * 10
    # When 3 payloads are pushed in batches of 2, with at most 3 attempts a batch
    outcome = client_for(api, max_attempts=3).push(make_batches([session(n) for n in range(3)], 2))
    # Then it stopped after 3 attempts of the first batch; nothing was queued and every item says so
    assert len(api.posts) == 3
    assert outcome.stopped is not None
    assert "gave up after 3 attempts" in outcome.stopped
    summary = outcome.summary()
    assert (summary["queued"], summary["failed"]) == (0, 3)
    assert [problem["status"] for problem in summary["problems"]] == ["not_queued"] * 3


@pytest.mark.parametrize("status", [401, 404])
def test_a_refused_token_or_endpoint_stops_at_once(api: FakeBatchApi, status: int) -> None:
    # Given a service that refuses the token (or does not know the endpoint)
    api.faults = [HttpReply(status, {}, b"{}")]
    # When pushed in two batches
    outcome = push(api, [session(1), session(2)], batch_size=1)
    # Then one request was made, no wait, and the outcome says why
    assert len(api.posts) == 1
    assert api.clock.sleeps == []
    assert outcome.refused is not None
    assert outcome.refused.status == status
    assert not outcome.complete


# ---------------------------------------------------------------------------------------- results


def test_invalid_items_are_reported_by_their_index_in_the_input(api: FakeBatchApi) -> None:
    # Given 5 payloads of which the 2nd and the 5th have no session, in batches of 3
    payloads = [session(0), {"name": "no session"}, session(2), session(3), {"oops": True}]
    # When pushed
    summary = push(api, payloads, batch_size=3).summary()
    # Then the problems name input indexes 1 and 4 with the service's details; the rest are queued
    assert [(p["index"], p["status"], p["request_id"]) for p in summary["problems"]] == [
        (1, "invalid", None),
        (4, "invalid", None),
    ]
    assert summary["problems"][0]["details"] == [
        {"field": "session", "message": "A session object is required"}
    ]
    assert (summary["items"], summary["queued"], summary["invalid"]) == (5, 3, 2)


def test_a_batch_refused_as_a_whole_reports_each_of_its_items(api: FakeBatchApi) -> None:
    # Given a 413 for a batch (a payload too large even alone)
    api.faults = [HttpReply(413, {}, b'{"error_type": "payload_too_large", "errors": "too big"}')]
    # When pushed
    summary = push(api, [session(1), session(2)], batch_size=1).summary()
    # Then the first item is invalid with the reason, the second went through
    assert summary["problems"] == [
        {
            "index": 0,
            "request_id": None,
            "status": "invalid",
            "details": [{"field": "$", "message": "payload_too_large: too big"}],
        }
    ]
    assert summary["queued"] == 1


# -------------------------------------------------------------------------------------- following


def test_with_wait_each_request_is_followed_to_its_outcome(api: FakeBatchApi) -> None:
    # Given a service where request 0 creates, 1 updates after two polls, and 2 fails
    payloads = [session(n) for n in range(3)]
    outcomes: dict[int, Any] = {
        0: lambda gets: {"status": "processed", "action": "created"},
        1: lambda gets: {"status": "queued" if gets < 3 else "processed", "action": "updated"},
        2: lambda gets: {"status": "failed", "action": None, "errors": ["location gone"]},
    }

    def outcome(request_id: str, gets: int) -> dict[str, Any]:
        index = [queued_id for queued_id, _ in api.queued].index(request_id)
        decided: dict[str, Any] = outcomes[index](gets)
        return decided

    api.outcome = outcome
    # When pushed with --wait
    result = push(api, payloads, wait=True, timeout_seconds=60)
    # Then the summary counts one created, one updated, one failed with its errors
    summary = result.summary()
    assert (summary["processed"], summary["created"], summary["updated"], summary["failed"]) == (2, 1, 1, 1)
    assert summary["problems"] == [
        {"index": 2, "request_id": api.queued[2][0], "status": "failed", "errors": ["location gone"]}
    ]
    assert not result.complete


def test_requests_still_queued_at_the_timeout_are_reported_pending(api: FakeBatchApi) -> None:
    # Given a service that never finishes processing
    api.outcome = lambda request_id, gets: {"status": "queued", "action": None}
    # When pushed with --wait --timeout 5
    result = push(api, [session(1)], wait=True, timeout_seconds=5)
    # Then it stopped polling at the timeout and reports the item pending
    summary = result.summary()
    assert summary["pending"] == 1
    assert summary["problems"][0]["status"] == "pending"
    assert sum(api.clock.sleeps) <= 5
    assert not result.complete


def test_without_wait_nothing_is_polled_and_queued_is_complete(api: FakeBatchApi) -> None:
    # Given two payloads
    # When pushed without --wait
    result = push(api, [session(1), session(2)])
    # Then no outcome was read and the summary has nothing processed or pending
    assert [call.method for call in api.calls] == ["POST"]
    summary = result.summary()
    assert (summary["queued"], summary["processed"], summary["pending"]) == (2, 0, 0)
    assert result.complete


def test_a_share_of_the_batches_is_reported_by_the_inputs_indexes(api: FakeBatchApi) -> None:
    # Given the batches of 6 payloads, of which a client sends only the second and the third
    batches = make_batches([session(n) for n in range(6)], batch_size=2)[1:]
    # When pushed
    outcome = client_for(api).push(batches)
    # Then the reports name input indexes 2-5, every one queued
    assert [(report.index, report.status.value) for report in outcome.reports] == [
        (2, "queued"),
        (3, "queued"),
        (4, "queued"),
        (5, "queued"),
    ]
