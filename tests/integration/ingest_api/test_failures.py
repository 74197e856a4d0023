"""When SQS or DynamoDB fail, the client gets a 5xx and nothing half-done claims success."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from ingestctl.local.template import CreatedResources
from session_ingest.adapters.aws import client
from session_ingest.errors import StoreUnavailable
from session_ingest.service.dependencies import IngestDependencies
from session_ingest.service.request_outcomes import NOT_QUEUED_REASON
from tests.fixtures import reference_session_payload
from tests.integration.ingest_api.conftest import QueueReader, requests_table_items
from tests.support.ingest_api import ApiClient

SERVICE_UNAVAILABLE = {
    "message": "Service Unavailable",
    "success": False,
    "error_type": "service_unavailable",
    "errors": "The request was not queued; retry it",
}


@pytest.fixture
def failing_sqs() -> Iterator[Stubber]:
    """The API's own SQS client, answering SendMessage with a server error (after botocore's retries)."""
    with Stubber(client("sqs")) as stubber:
        stubber.add_client_error("send_message", service_error_code="InternalError", http_status_code=500)
        yield stubber


def test_a_failed_send_is_a_503_and_the_request_is_marked_not_queued(
    api: ApiClient, aws: CreatedResources, queue: QueueReader, failing_sqs: Stubber
) -> None:
    # Given SQS refuses the message
    # When a valid payload is posted
    result = api.post(reference_session_payload())
    # Then the client is told to retry, with no request id that could pass for success
    assert result.status == 503
    assert result.body == SERVICE_UNAVAILABLE
    assert result.headers["Retry-After"] == "1"
    # And the stored request item says it was never queued
    [item] = [item for pk, item in requests_table_items(aws).items() if pk.startswith("REQUEST#")]
    assert item["status"] == {"S": "failed"}
    assert item["errors"] == {"L": [{"S": NOT_QUEUED_REASON}]}
    assert item["failure_kind"] == {"S": "not_queued"}
    failing_sqs.deactivate()
    assert queue.drain() == []


def test_a_failed_send_releases_the_idempotency_key_so_the_retry_succeeds(
    api: ApiClient, queue: QueueReader, failing_sqs: Stubber
) -> None:
    # Given a send that failed for a request with an Idempotency-Key
    assert api.post(reference_session_payload(), idempotency_key="order-7").status == 503
    failing_sqs.deactivate()
    # When the client retries with the same key once SQS is back
    retry = api.post(reference_session_payload(), idempotency_key="order-7")
    # Then the retry is accepted and queued once
    assert retry.status == 200
    assert [body["request_id"] for body in queue.bodies()] == [retry.body["request_id"]]


def test_a_failed_store_is_a_503_and_nothing_is_sent(
    api: ApiClient, aws: CreatedResources, queue: QueueReader
) -> None:
    # Given a warm Lambda (endpoint cached) whose DynamoDB write then fails
    assert api.post(reference_session_payload()).status == 200
    queue.drain()
    with Stubber(client("dynamodb")) as stubber:
        stubber.add_client_error(
            "transact_write_items", service_error_code="InternalServerError", http_status_code=500
        )
        # When a valid payload is posted
        result = api.post(reference_session_payload())
    # Then the client is told to retry and nothing is queued
    assert (result.status, result.body) == (503, SERVICE_UNAVAILABLE)
    assert queue.drain() == []


def test_a_transaction_conflict_is_retried(api: ApiClient, queue: QueueReader) -> None:
    # Given a warm Lambda whose first transaction collides with another on the rate counter
    assert api.post(reference_session_payload()).status == 200
    queue.drain()
    with Stubber(client("dynamodb")) as stubber:
        stubber.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields={"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]},
        )
        stubber.add_response("transact_write_items", {})
        # When a valid payload is posted
        result = api.post(reference_session_payload())
        # Then the transaction is retried and the request accepted
        stubber.assert_no_pending_responses()
    assert result.status == 200
    assert len(queue.drain()) == 1


def test_an_unconfirmed_claim_after_a_successful_send_still_answers_200(
    api: ApiClient, deps: IngestDependencies, queue: QueueReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the idempotency claim cannot be confirmed after the message was queued
    def refuse(*_: Any) -> None:
        raise StoreUnavailable("InternalServerError: boom")

    monkeypatch.setattr(deps.ledger, "confirm_claim", refuse)
    # When a request with a key is posted
    result = api.post(reference_session_payload(), idempotency_key="order-9")
    # Then the answer follows the queue: the message is there, so 200
    assert result.status == 200
    assert len(queue.drain()) == 1


def test_an_unexpected_error_is_a_500_telling_the_client_to_retry(
    api: ApiClient, deps: IngestDependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bug somewhere on the accept path
    def broken(*_: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(deps.ledger, "new_request", broken)
    # When a valid payload is posted
    result = api.post(reference_session_payload())
    # Then the answer is a 500 in the API's shape
    assert result.status == 500
    assert result.body["error_type"] == "internal_error"
    assert result.body["success"] is False
