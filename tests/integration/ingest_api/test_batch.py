"""`POST /api/webhook/ingest/{endpoint_id}/batch` (contract §4b) through the handler, against moto."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from ingestctl.admin.endpoints import create_endpoint
from ingestctl.local.template import CreatedResources
from session_ingest import limits
from session_ingest.adapters.aws import client
from session_ingest.domain.utc import parse_utc
from session_ingest.errors import StoreUnavailable
from session_ingest.service.dependencies import IngestDependencies
from tests.integration.ingest_api.conftest import QueueReader, requests_table_items
from tests.support.aws_calls import InjectedErrors, counting_aws_calls, injected_errors
from tests.support.ingest_api import ApiClient


def sessions(count: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        {"session": {"organisation_uid": f"uid-{n}", "name": f"Session {n}", **fields}} for n in range(count)
    ]


def queued_ids(result: Any) -> list[str]:
    return [entry["request_id"] for entry in result.body["results"] if entry["status"] == "queued"]


def outcomes_by_status(aws: CreatedResources) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pk, item in requests_table_items(aws).items():
        if pk.startswith("REQUEST#"):
            key = item["status"]["S"] + (f"/{item['failure_kind']['S']}" if "failure_kind" in item else "")
            counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.fixture
def send_faults(deps: IngestDependencies) -> Iterator[InjectedErrors]:
    """SendMessageBatch calls of the service's SQS client that fail as a whole (after botocore's retries,
    as an outage would): none until a test chooses them."""
    outage = {"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}
    with injected_errors("sqs", "SendMessageBatch", outage, failing_calls=set()) as faults:
        yield faults


# -------------------------------------------------------------------------------------------- statuses


def test_a_full_batch_is_200_with_one_queued_request_per_item_in_order(
    api: ApiClient, queue: QueueReader
) -> None:
    # Given 100 valid payloads
    items = sessions(limits.MAX_BATCH_ITEMS)
    # When sent as one batch
    result = api.post_batch(items)
    # Then it is 200, every item queued under its own request id, results in item order
    assert result.status == 200, result.body
    assert result.body["success"] is True
    assert [entry["index"] for entry in result.body["results"]] == list(range(100))
    ids = queued_ids(result)
    assert len(set(ids)) == 100
    # And the queue holds one message per item, carrying its payload and request id
    by_id = {body["request_id"]: body for body in queue.bodies()}
    assert set(by_id) == set(ids)
    assert [by_id[request_id]["record"]["organisation_uid"] for request_id in ids] == [
        f"uid-{n}" for n in range(100)
    ]
    assert all(
        header in result.headers for header in ("RateLimit-Limit", "RateLimit-Remaining", "X-Request-Id")
    )


def test_accept_times_strictly_increase_with_the_item_index(api: ApiClient, queue: QueueReader) -> None:
    # Given a batch of the same session three times, changed each time
    items = [{"session": {"organisation_uid": "same", "name": name}} for name in ("first", "second", "last")]
    # When it is accepted
    result = api.post_batch(items)
    # Then each request's accept time is later than the one before it, so the last item wins (§6)
    accepted = {body["request_id"]: parse_utc(body["accepted_at"]) for body in queue.bodies()}
    times = [accepted[request_id] for request_id in queued_ids(result)]
    assert times[0] < times[1] < times[2]


def test_some_invalid_items_make_a_207_naming_each_by_index(api: ApiClient, queue: QueueReader) -> None:
    # Given a batch whose 2nd item has a bad time and whose 4th is not an object
    items: list[Any] = [*sessions(1), {"session": {"start_time": "soon"}}, *sessions(1), "text"]
    # When sent
    result = api.post_batch(items)
    # Then 207: the valid ones are queued, the others invalid with the single endpoint's details
    assert result.status == 207, result.body
    assert result.body["success"] is False
    results = result.body["results"]
    assert [(entry["index"], entry["status"]) for entry in results] == [
        (0, "queued"),
        (1, "invalid"),
        (2, "queued"),
        (3, "invalid"),
    ]
    assert results[1]["error_type"] == "validation_error"
    assert [detail["field"] for detail in results[1]["details"]] == ["start_time"]
    assert results[3]["details"] == [{"field": "$", "message": "The payload must be a JSON object"}]
    assert "request_id" not in results[1]
    assert len(queue.drain()) == 2


def test_an_item_is_judged_exactly_as_the_single_endpoint_judges_it(api: ApiClient) -> None:
    # Given a payload the single endpoint refuses
    payload = {"session": {"card_link_type": "external", "card_link_url": "javascript:alert(1)"}}
    single = api.post(payload)
    # When it is an item of a batch
    batch = api.post_batch([payload])
    # Then its details are the single endpoint's
    assert single.status == 422
    assert batch.body["results"][0]["details"] == single.body["details"]


def test_no_valid_item_is_a_422_with_every_items_reason(api: ApiClient, queue: QueueReader) -> None:
    # Given a batch of invalid items only
    # When sent
    result = api.post_batch([{"session": {"active": "maybe"}}, {"session": {"entry_buffer": -1}}])
    # Then 422 validation_error, each item invalid with its details, nothing queued, the rate headers sent
    assert result.status == 422, result.body
    assert (result.body["success"], result.body["error_type"]) == (False, "validation_error")
    assert [entry["status"] for entry in result.body["results"]] == ["invalid", "invalid"]
    assert [entry["details"][0]["field"] for entry in result.body["results"]] == ["active", "entry_buffer"]
    assert result.headers["RateLimit-Remaining"] == "119"
    assert queue.drain() == []


@pytest.mark.parametrize("count", [0, limits.MAX_BATCH_ITEMS + 1], ids=["empty", "101 items"])
def test_no_items_or_too_many_is_a_422_on_items(api: ApiClient, queue: QueueReader, count: int) -> None:
    # Given a batch of 0 or 101 items
    # When sent
    result = api.post_batch(sessions(count))
    # Then 422 validation_error with a details entry for `items`, and nothing queued
    assert result.status == 422
    assert result.body["error_type"] == "validation_error"
    assert [detail["field"] for detail in result.body["details"]] == ["items"]
    assert queue.drain() == []


def test_a_body_over_1_mib_is_a_413_and_one_over_256_kib_is_accepted(api: ApiClient) -> None:
    # Given batches of items carrying ~200 KiB each (an extra key, ignored with a warning): four (800 KiB in
    # all) and six (1.2 MiB)
    def items(count: int) -> list[Any]:
        return [{**item, "notes": "n" * (200 * 1024)} for item in sessions(count)]

    # When each is sent
    under = api.post_batch(items(4))
    over = api.post_batch(items(6))
    # Then the first is accepted (the 256 KiB limit is per item), the second is refused as too large
    assert under.status == 200, under.body
    assert over.status == 413
    assert over.body["error_type"] == "payload_too_large"
    assert over.body["errors"] == f"The body must not be larger than {limits.MAX_BATCH_BODY_BYTES} bytes"


def test_an_item_larger_than_a_single_body_is_invalid_as_too_large(api: ApiClient) -> None:
    # Given a batch holding one item over 256 KiB
    items = [*sessions(1), {"session": {"description": "d" * limits.MAX_BODY_BYTES}}]
    # When sent
    result = api.post_batch(items)
    # Then that item alone is refused, as it would be alone
    assert result.status == 207
    assert (result.body["results"][1]["status"], result.body["results"][1]["error_type"]) == (
        "invalid",
        "payload_too_large",
    )


def test_a_malformed_body_is_a_400(api: ApiClient) -> None:
    # Given a body with a duplicate key inside an item / When sent / Then 400 malformed_json
    result = api.post('{"items": [{"session": {"name": "a", "name": "b"}}]}', batch=True)
    assert (result.status, result.error_type) == (400, "malformed_json")


def test_a_bad_token_is_a_401(api: ApiClient) -> None:
    # Given no token / When a batch is sent / Then 401, as for the single endpoint
    result = api.post_batch(sessions(1), token=None)
    assert (result.status, result.error_type) == (401, "authentication_error")


def test_a_batch_counts_as_one_request_against_the_rate_limit(deps: IngestDependencies) -> None:
    # Given an endpoint allowing 2 requests a minute
    created = create_endpoint("acme", 42, rate_limit_per_minute=2)
    api = ApiClient(created["endpoint_id"], created["token"])
    # When three batches of 50 are sent
    answers = [api.post_batch(sessions(50)) for _ in range(3)]
    # Then two are accepted whole and the third is a 429 with Retry-After
    assert [answer.status for answer in answers] == [200, 200, 429]
    assert answers[1].headers["RateLimit-Remaining"] == "0"
    assert answers[2].headers["Retry-After"] == "55"


# ------------------------------------------------------------------------------------------ idempotency


def test_a_repeated_key_replays_the_first_results_and_queues_nothing(
    api: ApiClient, aws: CreatedResources, queue: QueueReader
) -> None:
    # Given a batch accepted with an Idempotency-Key
    items: list[Any] = [*sessions(3), {"session": {"active": "maybe"}}]
    first = api.post_batch(items, idempotency_key="agenda-1")
    assert first.status == 207
    queue.drain()
    # When it is sent again with the same key
    second = api.post_batch(items, idempotency_key="agenda-1")
    # Then the first results come back (same request ids) and nothing is queued; the replay spent the
    # batch's rate-limit unit (it stores nothing, as a single request's replay: contract §4), so two
    # requests counted against the limit
    assert (second.status, second.body) == (207, first.body)
    assert queue.drain() == []
    counters = [item for pk, item in requests_table_items(aws).items() if pk.startswith("RATE#")]
    assert [counter["request_count"]["N"] for counter in counters] == ["2"]
    assert second.headers["RateLimit-Remaining"] == str(limits.DEFAULT_RATE_LIMIT_PER_MINUTE - 2)


@pytest.mark.parametrize(
    ("second_items", "status"),
    [(sessions(2), 200), (sessions(3), 422)],
    ids=["replay", "conflict"],
)
def test_repeats_of_a_batch_key_spend_one_rate_limit_unit_each(
    deps: IngestDependencies, second_items: list[Any], status: int
) -> None:
    # Given an endpoint allowing 3 requests a minute, and one batch accepted with a key
    created = create_endpoint("acme", 42, rate_limit_per_minute=3, clock=deps.clock)
    api = ApiClient(created["endpoint_id"], created["token"])
    assert api.post_batch(sessions(2), idempotency_key="agenda-k").status == 200
    # When the key is repeated (the same batch: a replay; another: a conflict)
    answers = [api.post_batch(second_items, idempotency_key="agenda-k") for _ in range(3)]
    # Then each repeat spends one unit, as a single request's repeat does: the window fills up
    assert [answer.status for answer in answers] == [status, status, 429]


def test_the_same_key_with_another_batch_is_an_idempotency_conflict(
    api: ApiClient, queue: QueueReader
) -> None:
    # Given a batch accepted with a key
    assert api.post_batch(sessions(2), idempotency_key="agenda-1").status == 200
    queue.drain()
    # When another batch comes with the same key
    result = api.post_batch(sessions(3), idempotency_key="agenda-1")
    # Then 422 idempotency_conflict, nothing queued
    assert (result.status, result.error_type) == (422, "idempotency_conflict")
    assert queue.drain() == []


def test_a_repeat_while_the_first_batch_is_in_flight_is_a_409_that_spends_a_unit(
    api: ApiClient, aws: CreatedResources, queue: QueueReader
) -> None:
    # Given a batch whose invocation stopped (as on a Lambda timeout) after storing its key, before sending
    def stop(**_: Any) -> None:
        raise RuntimeError("the invocation stopped here")

    client("sqs").meta.events.register("before-call.sqs.SendMessageBatch", stop)
    try:
        assert api.post_batch(sessions(2), idempotency_key="agenda-3").status == 500
    finally:
        client("sqs").meta.events.unregister("before-call.sqs.SendMessageBatch", stop)
    # When the same batch comes again with the key, within the in-flight time
    repeat = api.post_batch(sessions(2), idempotency_key="agenda-3")
    # Then 409 idempotency_in_progress, nothing queued, and the repeat spent its unit
    assert (repeat.status, repeat.error_type) == (409, "idempotency_in_progress")
    assert queue.drain() == []
    counters = [item for pk, item in requests_table_items(aws).items() if pk.startswith("RATE#")]
    assert [counter["request_count"]["N"] for counter in counters] == ["2"]


# ----------------------------------------------------------------------------------------- durability


def test_sqs_failing_part_way_is_a_503_whose_retry_queues_only_the_rest(
    api: ApiClient, aws: CreatedResources, queue: QueueReader, send_faults: InjectedErrors
) -> None:
    # Given a queue whose second SendMessageBatch call fails (items 10-19 of 25)
    send_faults.failing_calls = {2}
    items = sessions(25)
    # When the batch is sent with a key
    first = api.post_batch(items, idempotency_key="agenda-2")
    # Then 503 with Retry-After: items 0-9 and 20-24 queued, 10-19 to retry (no request id)
    assert first.status == 503, first.body
    assert first.headers["Retry-After"] == "1"
    assert (first.body["error_type"], first.body["success"]) == ("service_unavailable", False)
    statuses = [entry["status"] for entry in first.body["results"]]
    assert statuses == ["queued"] * 10 + ["retry"] * 10 + ["queued"] * 5
    assert all("request_id" not in entry for entry in first.body["results"][10:20])
    # And the items not taken are marked not queued in the ledger
    assert outcomes_by_status(aws) == {"queued": 15, "failed/not_queued": 10}
    queued_first = set(queued_ids(first))
    # When the client retries with the same key and SQS is back
    second = api.post_batch(items, idempotency_key="agenda-2")
    # Then 200: the first request ids stand, the retried items are queued, and nothing is queued twice
    assert second.status == 200, second.body
    assert queued_first <= set(queued_ids(second))
    bodies = queue.bodies()
    assert sorted(body["request_id"] for body in bodies) == sorted(queued_ids(second))
    assert len(bodies) == 25
    assert outcomes_by_status(aws) == {"queued": 25}


def test_without_a_key_a_partly_queued_batch_still_reports_each_item(
    api: ApiClient, queue: QueueReader, send_faults: InjectedErrors
) -> None:
    # Given a queue whose first SendMessageBatch call fails
    send_faults.failing_calls = {1}
    # When 15 items are sent without a key
    result = api.post_batch(sessions(15))
    # Then 503: the first 10 are to retry, the last 5 queued, and only those 5 are in the queue
    assert result.status == 503
    assert [entry["status"] for entry in result.body["results"]] == ["retry"] * 10 + ["queued"] * 5
    assert len(queue.drain()) == 5


def test_a_batch_that_cannot_be_stored_is_a_503_and_queues_nothing(
    api: ApiClient, queue: QueueReader
) -> None:
    # Given a warm function whose DynamoDB transaction then fails
    assert api.post_batch(sessions(1)).status == 200
    queue.drain()
    with Stubber(client("dynamodb")) as stubber:
        stubber.add_client_error(
            "transact_write_items", service_error_code="InternalServerError", http_status_code=500
        )
        # When a batch is sent
        result = api.post_batch(sessions(3))
    # Then 503 service_unavailable, and nothing was queued
    assert (result.status, result.error_type) == (503, "service_unavailable")
    assert queue.drain() == []


class FailingSecondTransaction:
    """A unit-of-work factory whose second unit (a batch's overflow transaction) cannot be written."""

    def __init__(self, real: Callable[[], Any]) -> None:
        self.real = real
        self.made = 0

    def __call__(self) -> Any:
        unit = self.real()
        self.made += 1
        if self.made == 2:

            def unavailable() -> Any:
                raise StoreUnavailable("InternalServerError: injected")

            unit.commit = unavailable
        return unit


def test_outcomes_of_a_failed_second_transaction_are_answered_retry_and_stored_by_the_retry(
    api: ApiClient, deps: IngestDependencies, queue: QueueReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a full batch with a key (98 outcomes fit beside the counter and the claim) whose second
    # transaction fails
    real = deps.unit_of_work
    monkeypatch.setattr(deps, "unit_of_work", FailingSecondTransaction(real))
    items = sessions(limits.MAX_BATCH_ITEMS)
    # When it is sent
    first = api.post_batch(items, idempotency_key="agenda-4")
    # Then the first 98 are queued and the last 2 are to retry
    assert first.status == 503
    assert [entry["status"] for entry in first.body["results"]][96:] == ["queued", "queued", "retry", "retry"]
    monkeypatch.setattr(deps, "unit_of_work", real)
    # When the client retries with the same key
    second = api.post_batch(items, idempotency_key="agenda-4")
    # Then all 100 are queued, each once
    assert second.status == 200, second.body
    assert sorted(body["request_id"] for body in queue.bodies()) == sorted(queued_ids(second))


def test_a_full_batch_costs_at_most_15_aws_calls(api: ApiClient, deps: IngestDependencies) -> None:
    # Given a warm function (the endpoint is cached)
    assert api.post_batch(sessions(1)).status == 200
    # When a full batch of 100 is accepted with an Idempotency-Key
    with counting_aws_calls() as calls:
        result = api.post_batch(sessions(limits.MAX_BATCH_ITEMS), idempotency_key="agenda-3")
    # Then it made 2 transactions, 10 SendMessageBatch calls and the key's update: 13 calls
    assert result.status == 200
    assert sorted(set(calls)) == [
        "dynamodb.TransactWriteItems",
        "dynamodb.UpdateItem",
        "sqs.SendMessageBatch",
    ]
    assert calls.count("sqs.SendMessageBatch") == 10
    assert len(calls) <= 15


def test_the_queued_messages_carry_each_items_record_and_request_id(
    api: ApiClient, queue: QueueReader
) -> None:
    # Given a batch of two
    result = api.post_batch(sessions(2, start_time="2026-06-15 09:00:00"))
    # When the queue is read
    messages = queue.drain()
    # Then each message's attribute is its request id and its body the normalised record
    by_id = {m["MessageAttributes"]["request_id"]["StringValue"]: json.loads(m["Body"]) for m in messages}
    assert set(by_id) == set(queued_ids(result))
    assert {body["record"]["start_time"] for body in by_id.values()} == {"2026-06-15T09:00:00Z"}
