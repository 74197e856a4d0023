"""`GET /api/webhook/ingest/{endpoint_id}/requests/{request_id}` (contract §4)."""

from __future__ import annotations

import uuid

import boto3

from ingestctl.admin.endpoints import create_endpoint
from ingestctl.local.template import CreatedResources
from session_ingest import limits
from session_ingest.service.dependencies import IngestDependencies
from tests.fixtures import reference_session_payload
from tests.support.ingest_api import ApiClient

NOT_FOUND = {"message": "Not Found", "success": False, "error_type": "not_found"}


def test_a_queued_request_reports_its_outcome(api: ApiClient) -> None:
    # Given an accepted request
    request_id = api.post(reference_session_payload()).body["request_id"]
    # When its outcome is asked for
    result = api.get_outcome(request_id)
    # Then it is queued, with every documented key present
    assert result.status == 200
    assert result.body == {
        "request_id": request_id,
        "status": "queued",
        "accepted_at": "2026-06-14T12:00:05.000000Z",
        "processed_at": None,
        "action": None,
        "resource_id": None,
        "warnings": [],
        "errors": [],
    }


def test_accept_time_warnings_are_on_the_outcome_at_once(api: ApiClient) -> None:
    # Given a payload with an unsupported field
    payload = reference_session_payload()
    payload["session"]["speakers"] = [1, 2]
    request_id = api.post(payload).body["request_id"]
    # When its outcome is asked for
    result = api.get_outcome(request_id)
    # Then the mapping's warning is there
    assert [warning["code"] for warning in result.body["warnings"]] == ["unsupported_field"]
    assert result.body["warnings"][0]["field"] == "speakers"


def test_a_processed_request_reports_what_the_consumer_did(api: ApiClient, aws: CreatedResources) -> None:
    # Given an accepted request the consumer has processed
    request_id = api.post(reference_session_payload()).body["request_id"]
    boto3.client("dynamodb").update_item(
        TableName=aws.tables["RequestsTable"],
        Key={"pk": {"S": f"REQUEST#{request_id}"}},
        UpdateExpression="SET #s = :s, processed_at = :p, #a = :a, resource_id = :r",
        ExpressionAttributeNames={"#s": "status", "#a": "action"},
        ExpressionAttributeValues={
            ":s": {"S": "processed"},
            ":p": {"S": "2026-06-14T12:00:06.250000Z"},
            ":a": {"S": "created"},
            ":r": {"S": "acme/session/9001"},
        },
    )
    # When its outcome is asked for
    result = api.get_outcome(request_id)
    # Then it shows the action and the session
    assert result.status == 200
    assert (result.body["status"], result.body["action"]) == ("processed", "created")
    assert result.body["processed_at"] == "2026-06-14T12:00:06.250000Z"
    assert result.body["resource_id"] == "acme/session/9001"


def test_an_unknown_request_is_a_404(api: ApiClient) -> None:
    # Given no such request
    # When it is asked for, with a UUID and with something else
    # Then both are not found
    assert (api.get_outcome(str(uuid.uuid4())).status, api.get_outcome("nope").status) == (404, 404)
    assert api.get_outcome(str(uuid.uuid4())).body == NOT_FOUND


def test_another_endpoints_request_is_a_404(api: ApiClient, deps: IngestDependencies) -> None:
    # Given a request accepted by another endpoint
    other = create_endpoint("acme", 43)
    other_request = ApiClient(other["endpoint_id"], other["token"]).post(reference_session_payload())
    # When this endpoint asks for it with its own valid token
    result = api.get_outcome(other_request.body["request_id"])
    # Then it is as unknown
    assert (result.status, result.body) == (404, NOT_FOUND)


def test_an_outcome_needs_a_token_of_that_endpoint(api: ApiClient, deps: IngestDependencies) -> None:
    # Given an accepted request and another endpoint's token
    request_id = api.post(reference_session_payload()).body["request_id"]
    other = create_endpoint("acme", 43)
    # When it is asked for without a token, and with the other endpoint's token
    # Then both are unauthenticated
    assert api.get_outcome(request_id, token=None).status == 401
    assert api.get_outcome(request_id, token=other["token"]).status == 401


def test_outcome_lookups_do_not_spend_the_rate_limit(api: ApiClient) -> None:
    # Given one accepted request
    request_id = api.post(reference_session_payload()).body["request_id"]
    # When its outcome is read three times
    results = [api.get_outcome(request_id) for _ in range(3)]
    # Then each reports the window's exact remaining quota, unchanged by the lookups
    expected = str(limits.DEFAULT_RATE_LIMIT_PER_MINUTE - 1)
    assert [result.headers["RateLimit-Remaining"] for result in results] == [expected] * 3
    assert results[0].headers["RateLimit-Reset"] == "55"
