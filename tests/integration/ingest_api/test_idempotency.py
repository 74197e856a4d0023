"""Idempotency-Key (contract §7): replay, conflict, key rules, requests that died in flight."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from ingestctl.admin.endpoints import create_endpoint
from ingestctl.local.template import CreatedResources
from session_ingest import limits
from session_ingest.domain.idempotency import IdempotencyClaim, sha256_hex
from session_ingest.domain.models import RequestStatus, StoredOutcome
from session_ingest.domain.rate_limit import RateWindow
from session_ingest.service.dependencies import IngestDependencies
from session_ingest.service.ingest import stage_acceptance
from session_ingest.service.request_outcomes import fail_not_queued
from tests.fixtures import reference_session_payload
from tests.integration.ingest_api.conftest import QueueReader, requests_table_items
from tests.support.ingest_api import ApiClient, FakeClock

BODY = '{"session": {"name": "Keynote", "organisation_uid": "k-1"}}'


def test_a_repeat_with_the_same_key_and_body_replays_the_first_response(
    api: ApiClient, aws: CreatedResources, queue: QueueReader
) -> None:
    # Given a request accepted with an Idempotency-Key
    first = api.post(BODY, idempotency_key="order-1")
    assert first.status == 200
    # When the same body is sent again with the same key
    second = api.post(BODY, idempotency_key="order-1")
    # Then the first response comes back, with the same request id, under a new X-Request-Id
    assert second.status == 200
    assert second.body == first.body
    assert second.headers["X-Request-Id"] != first.body["request_id"]
    # And only one message was queued; the replay spent a rate-limit unit too (it stores nothing,
    # like a rejection: issue 12), so two requests counted against the limit
    assert len(queue.drain()) == 1
    counters = [item for pk, item in requests_table_items(aws).items() if pk.startswith("RATE#")]
    assert [counter["request_count"]["N"] for counter in counters] == ["2"]


def test_the_same_key_with_a_different_body_is_a_422_conflict(api: ApiClient, queue: QueueReader) -> None:
    # Given a request accepted with an Idempotency-Key
    assert api.post(BODY, idempotency_key="order-1").status == 200
    # When another body is sent with the same key
    result = api.post(BODY.replace("Keynote", "Closing"), idempotency_key="order-1")
    # Then it is refused as an idempotency conflict, and nothing more is queued
    assert result.status == 422
    assert result.body == {
        "message": "Invalid",
        "success": False,
        "error_type": "idempotency_conflict",
        "errors": "This Idempotency-Key was already used with a different payload",
    }
    assert len(queue.drain()) == 1


def test_keys_belong_to_their_endpoint(api: ApiClient, deps: IngestDependencies) -> None:
    # Given a key used on one endpoint
    first = api.post(BODY, idempotency_key="order-1")
    other = create_endpoint("acme", 43)
    # When another endpoint receives the same key and body
    second = ApiClient(other["endpoint_id"], other["token"]).post(BODY, idempotency_key="order-1")
    # Then it is a new request
    assert second.status == 200
    assert second.body["request_id"] != first.body["request_id"]


@pytest.mark.parametrize(
    ("key", "status"),
    [
        pytest.param("k" * limits.MAX_IDEMPOTENCY_KEY_CHARS, 200, id="255-chars"),
        pytest.param("k" * (limits.MAX_IDEMPOTENCY_KEY_CHARS + 1), 400, id="256-chars"),
        pytest.param("", 400, id="empty"),
        pytest.param("a\tb", 400, id="control-character"),
    ],
)
def test_key_length_and_characters_are_checked(api: ApiClient, key: str, status: int) -> None:
    # Given an Idempotency-Key of a given shape
    # When a valid payload is posted with it
    result = api.post(reference_session_payload(), idempotency_key=key)
    # Then only acceptable keys pass
    assert result.status == status
    if status == 400:
        assert result.body["error_type"] == "invalid_idempotency_key"


def test_a_key_is_free_again_after_24_hours(api: ApiClient, clock: FakeClock) -> None:
    # Given a request accepted with a key
    first = api.post(BODY, idempotency_key="order-1")
    # When the same key and body arrive after the retention period
    clock.advance(limits.IDEMPOTENCY_RETENTION_SECONDS + 1)
    second = api.post(BODY, idempotency_key="order-1")
    # Then it is a new request (DynamoDB's TTL deletes lazily; the expiry is checked on write)
    assert second.status == 200
    assert second.body["request_id"] != first.body["request_id"]


def _claim_left_by_a_request_that_died(
    deps: IngestDependencies, api: ApiClient, clock: FakeClock
) -> IdempotencyClaim:
    """Store what a Lambda writes before sending to SQS, then 'die' before sending."""
    request_id = str(uuid.uuid4())
    claim = IdempotencyClaim(api.endpoint_id, sha256_hex("order-1"), sha256_hex(BODY), request_id)
    outcome = StoredOutcome(
        request_id=request_id,
        endpoint_id=api.endpoint_id,
        status=RequestStatus.QUEUED,
        accepted_at=clock.now(),
    )
    window = RateWindow.containing(api.endpoint_id, 120, clock.now().timestamp())
    stage_acceptance(deps, outcome, window, claim).commit()
    return claim


def test_a_repeat_while_the_first_is_in_flight_is_a_409(
    api: ApiClient, deps: IngestDependencies, clock: FakeClock, queue: QueueReader
) -> None:
    # Given a first request stored but not (yet) queued
    _claim_left_by_a_request_that_died(deps, api, clock)
    # When the same key and body arrive
    result = api.post(BODY, idempotency_key="order-1")
    # Then the client is told to retry shortly; nothing is queued and no request id is promised
    assert result.status == 409
    assert result.body["error_type"] == "idempotency_in_progress"
    assert "request_id" not in result.body
    assert result.headers["Retry-After"] == "1"
    assert queue.drain() == []


def test_a_request_that_died_before_queuing_is_finished_under_its_own_id(
    api: ApiClient, deps: IngestDependencies, clock: FakeClock, queue: QueueReader
) -> None:
    # Given a claim left unconfirmed by a request that died before sending
    dead = _claim_left_by_a_request_that_died(deps, api, clock)
    # When the client retries after the in-flight period
    clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    result = api.post(BODY, idempotency_key="order-1")
    # Then the first request is queued under its own id, with its own accept time
    assert result.status == 200
    assert result.body["request_id"] == dead.request_id
    (message,) = queue.bodies()
    assert message["request_id"] == dead.request_id
    stored = deps.ledger.get(dead.request_id)
    assert stored is not None
    assert datetime.fromisoformat(message["accepted_at"]) == stored.accepted_at
    # And a further repeat replays it without queuing anything
    assert api.post(BODY, idempotency_key="order-1").body == result.body
    assert queue.bodies() == []


def test_a_request_that_died_after_queuing_is_not_queued_twice_under_two_ids(
    api: ApiClient, deps: IngestDependencies, clock: FakeClock, queue: QueueReader
) -> None:
    # Given a request whose message was sent, but whose Lambda timed out before confirming the key
    dead = _claim_left_by_a_request_that_died(deps, api, clock)
    boto3.client("sqs").send_message(
        QueueUrl=queue.url, MessageBody=json.dumps({"request_id": dead.request_id})
    )
    # When the client, told to retry, repeats it after the in-flight period
    clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    result = api.post(BODY, idempotency_key="order-1")
    # Then it gets the first request's id, and what is queued is that request again (the consumer
    # finalises a request id once, so the copy is a redelivery), never a second request
    assert result.body["request_id"] == dead.request_id
    assert [body["request_id"] for body in queue.bodies()] == [dead.request_id, dead.request_id]


def test_a_request_already_processed_is_replayed_without_queuing_it_again(
    api: ApiClient, deps: IngestDependencies, clock: FakeClock, queue: QueueReader, aws: CreatedResources
) -> None:
    # Given a request that was queued and processed, but whose key was never confirmed
    dead = _claim_left_by_a_request_that_died(deps, api, clock)
    boto3.client("dynamodb").update_item(
        TableName=aws.tables["RequestsTable"],
        Key={"pk": {"S": f"REQUEST#{dead.request_id}"}},
        UpdateExpression="SET #s = :processed",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":processed": {"S": "processed"}},
    )
    # When the client repeats it after the in-flight period
    clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    result = api.post(BODY, idempotency_key="order-1")
    # Then the first request id comes back and nothing is queued
    assert result.body == {"success": True, "request_id": dead.request_id}
    assert queue.bodies() == []


def test_a_request_whose_send_failed_is_queued_again_under_its_own_id(
    api: ApiClient, deps: IngestDependencies, clock: FakeClock, queue: QueueReader
) -> None:
    # Given a request whose send failed and was recorded, but whose key could not be released
    dead = _claim_left_by_a_request_that_died(deps, api, clock)
    fail_not_queued(deps.ledger, dead.request_id)
    # When the client retries after the in-flight period
    clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    result = api.post(BODY, idempotency_key="order-1")
    # Then that request is queued after all, and its outcome says queued again
    assert result.body["request_id"] == dead.request_id
    assert [body["request_id"] for body in queue.bodies()] == [dead.request_id]
    reopened = deps.ledger.get(dead.request_id)
    assert reopened is not None
    assert reopened.status is RequestStatus.QUEUED


def test_a_replay_carries_the_current_windows_rate_limit_headers(api: ApiClient, clock: FakeClock) -> None:
    # Given a request accepted with a key
    api.post(BODY, idempotency_key="order-1")
    # When it is replayed in a later window
    clock.advance(timedelta(minutes=2).total_seconds())
    replay = api.post(BODY, idempotency_key="order-1")
    # Then the replay carries the RateLimit headers of the current window, where it spent its unit
    assert replay.status == 200
    assert replay.headers["RateLimit-Remaining"] == str(limits.DEFAULT_RATE_LIMIT_PER_MINUTE - 1)


@pytest.mark.parametrize(
    ("second_body", "status"),
    [({"session": {"name": "First"}}, 200), ({"session": {"name": "Changed"}}, 422)],
    ids=["replay", "conflict"],
)
def test_repeats_of_a_key_spend_rate_limit_units(
    deps: IngestDependencies, clock: FakeClock, second_body: dict[str, Any], status: int
) -> None:
    # Given an endpoint allowing 3 requests a minute, and one request accepted with a key
    created = create_endpoint("acme", 42, rate_limit_per_minute=3, clock=clock)
    api = ApiClient(created["endpoint_id"], created["token"])
    assert api.post({"session": {"name": "First"}}, idempotency_key="k").status == 200
    # When the key is repeated (the same body: a replay; another: a conflict)
    answers = [api.post(second_body, idempotency_key="k") for _ in range(3)]
    # Then each repeat spends a unit like any request that stores nothing: the window fills up
    assert [answer.status for answer in answers] == [status, status, 429]
