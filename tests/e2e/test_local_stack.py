"""The service end to end through `ingestctl local up`: HTTP in, sessions out, as an integrator sees it.

One stack for the module (started by the `stack` fixture); each test works on its own endpoint and event,
so tests stay independent and tables stay small.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from ingestctl.local.launcher import LocalStackProcess, service_pointed_at
from tests.e2e.conftest import HttpAnswer, eventually, http, with_room_in_the_rate_window
from tests.fixtures import reference_session_payload

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

_event_ids = iter(range(100, 10_000))


class Endpoint:
    """An endpoint of the running stack and the calls an integrator makes to it."""

    def __init__(
        self, stack: LocalStackProcess, organisation: str, event_id: int, rate_limit: int | None
    ) -> None:
        self.stack = stack
        self.organisation = organisation
        self.event_id = event_id
        with service_pointed_at(stack):
            from ingestctl.admin.endpoints import create_endpoint

            created = create_endpoint(organisation, event_id, rate_limit_per_minute=rate_limit)
        self.endpoint_id = created["endpoint_id"]
        self.token = created["token"]
        self.url = f"{stack.ready['api_url']}/api/webhook/ingest/{self.endpoint_id}"

    def post(self, payload: Any, token: str | None = None, suffix: str = "") -> HttpAnswer:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Authorization": f"Bearer {token or self.token}", "Content-Type": "application/json"}
        return http("POST", self.url + suffix, body=body, headers=headers)

    def accepted(self, payload: Any) -> str:
        answer = self.post(payload)
        assert answer.status == 200, answer.body
        request_id: str = answer.json["request_id"]
        return request_id

    def outcome(self, request_id: str) -> dict[str, Any]:
        answer = http(
            "GET", f"{self.url}/requests/{request_id}", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert answer.status == 200, answer.body
        result: dict[str, Any] = answer.json
        return result

    def processed(self, request_id: str) -> dict[str, Any]:
        """The outcome once the consumer is done with the request."""
        return eventually(lambda: (o := self.outcome(request_id))["status"] != "queued" and o)

    def sessions(self) -> list[dict[str, Any]]:
        """The event's stored sessions, straight from the (local) sessions table."""
        items = self.stack.client("dynamodb").query(
            TableName="SessionsTable",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={":pk": {"S": f"EVENT#{self.event_id}"}, ":sk": {"S": "SESSION#"}},
            ConsistentRead=True,
        )["Items"]
        deserializer = TypeDeserializer()
        return [{key: deserializer.deserialize(value) for key, value in item.items()} for item in items]


@pytest.fixture
def endpoint(stack: LocalStackProcess) -> Endpoint:
    """A fresh `acme` endpoint on an event of its own."""
    return Endpoint(stack, "acme", next(_event_ids), rate_limit=None)


def ingestctl(stack: LocalStackProcess, *args: str) -> Any:
    """Run ingestctl as a user would, with only what `local up` printed exported."""
    environment = {**os.environ, **stack.aws_environment()}
    for name in ("ENDPOINTS_TABLE", "REQUESTS_TABLE", "SESSIONS_TABLE", "INGEST_QUEUE_URL", "AWS_REGION"):
        environment.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "ingestctl", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,  # above the longest --timeout a test passes to ingestctl
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_reference_payload_is_accepted_processed_and_stored_normalised(endpoint: Endpoint) -> None:
    # Given the contract's reference example payload for organisation acme
    payload = reference_session_payload()
    # When an integrator posts it
    answer = endpoint.post(payload)
    # Then it is accepted (queued), with a request id
    assert answer.status == 200
    assert answer.json["success"] is True
    assert answer.header("X-Request-Id") == answer.json["request_id"]
    # And the consumer creates the session (acme/session/9001 is not stored yet, so rule 3)
    outcome = endpoint.processed(answer.json["request_id"])
    assert (outcome["status"], outcome["action"]) == ("processed", "created")
    # And location acme/location/301 does not exist in the event: skipped with a warning
    assert "unknown_location" in {warning["code"] for warning in outcome["warnings"]}
    # And the stored session holds the normalised values
    (session,) = endpoint.sessions()
    assert session["resource_id"] == outcome["resource_id"]
    assert session["organisation_uid"] == "ext-session-42"
    assert session["name"] == "Introduction to Cloud Architecture"
    assert session["start_time"] == "2026-06-14T23:00:00Z"
    assert session["finish_time"] == "2026-06-15T00:00:00Z"
    assert (session["active"], session["restricted"]) == (True, False)
    assert session["categories"] == [Decimal(7), Decimal(12)]
    assert session["card_link_url"] == "https://example.com/session-details"
    assert "location_resource_id" not in session


def test_a_second_payload_with_the_same_organisation_uid_updates_the_session(endpoint: Endpoint) -> None:
    # Given a session created with organisation uid u-1
    created = endpoint.processed(endpoint.accepted({"session": {"organisation_uid": "u-1", "name": "First"}}))
    # When a payload with the same uid and a new name arrives
    updated = endpoint.processed(
        endpoint.accepted({"session": {"organisation_uid": "u-1", "name": "Second"}})
    )
    # Then the same session is updated, partially
    assert (updated["action"], updated["resource_id"]) == ("updated", created["resource_id"])
    (session,) = endpoint.sessions()
    assert session["name"] == "Second"


def test_a_payload_with_a_resource_id_updates_that_session_and_may_change_its_uid(endpoint: Endpoint) -> None:
    # Given a session created with organisation uid old-uid
    created = endpoint.processed(
        endpoint.accepted({"session": {"organisation_uid": "old-uid", "name": "Talk", "code": "T1"}})
    )
    # When a payload addresses it by resource id with a new uid
    updated = endpoint.processed(
        endpoint.accepted({"session": {"resource_id": created["resource_id"], "organisation_uid": "new-uid"}})
    )
    # Then that session is updated: new uid, other fields kept
    assert (updated["action"], updated["resource_id"]) == ("updated", created["resource_id"])
    (session,) = endpoint.sessions()
    assert (session["organisation_uid"], session["name"], session["code"]) == ("new-uid", "Talk", "T1")


def _duplicate_uid_metric_sum(stack: LocalStackProcess) -> float:
    cloudwatch = stack.client("cloudwatch")
    now = datetime.now(tz=UTC)
    total = 0.0
    metrics = cloudwatch.list_metrics(Namespace="SessionIngest", MetricName="DuplicateOrganisationUid")[
        "Metrics"
    ]
    for metric in metrics:
        points = cloudwatch.get_metric_statistics(
            Namespace="SessionIngest",
            MetricName="DuplicateOrganisationUid",
            Dimensions=metric["Dimensions"],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(minutes=5),
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        total += sum(point["Sum"] for point in points)
    return total


def test_a_duplicate_organisation_uid_is_a_warning_on_the_outcome_and_a_cloudwatch_metric(
    stack: LocalStackProcess, endpoint: Endpoint
) -> None:
    # Given two sessions with different organisation uids
    endpoint.processed(endpoint.accepted({"session": {"organisation_uid": "dup-uid", "name": "One"}}))
    second = endpoint.processed(
        endpoint.accepted({"session": {"organisation_uid": "other-uid", "name": "Two"}})
    )
    before = _duplicate_uid_metric_sum(stack)
    # When the second is given the first one's uid through its resource id (rule 1)
    outcome = endpoint.processed(
        endpoint.accepted({"session": {"resource_id": second["resource_id"], "organisation_uid": "dup-uid"}})
    )
    # Then the change is applied, with a duplicate organisation uid warning on the outcome
    assert (outcome["status"], outcome["action"]) == ("processed", "updated")
    assert "duplicate_organisation_uid" in {warning["code"] for warning in outcome["warnings"]}
    # And the DuplicateOrganisationUid metric reaches the local CloudWatch
    assert eventually(lambda: _duplicate_uid_metric_sum(stack) > before)


@pytest.mark.parametrize(
    "token",
    ["sit_not_a_real_token", ""],
    ids=["unknown token", "no token"],
)
def test_a_request_without_a_valid_token_is_401(endpoint: Endpoint, token: str) -> None:
    # Given a request with a wrong or missing token
    # When it is posted
    answer = endpoint.post({"session": {"name": "x"}}, token=token or " ")
    # Then it is rejected as unauthenticated
    assert answer.status == 401
    assert answer.json["error_type"] == "authentication_error"


def test_a_payload_failing_field_validation_is_422_with_details(endpoint: Endpoint) -> None:
    # Given a session whose finish time is before its start time
    payload = {"session": {"start_time": "2026-06-15 10:00:00", "finish_time": "2026-06-15 09:00:00"}}
    # When it is posted
    answer = endpoint.post(payload)
    # Then it is rejected synchronously, naming the field
    assert answer.status == 422
    assert answer.json["error_type"] == "validation_error"
    assert answer.json["details"]
    assert all({"field", "message"} <= set(detail) for detail in answer.json["details"])


def test_requests_over_the_endpoints_rate_limit_are_429_with_retry_after(stack: LocalStackProcess) -> None:
    # Given an endpoint limited to 2 requests a minute
    limited = Endpoint(stack, "acme", next(_event_ids), rate_limit=2)
    # When a third request arrives within the minute (all three in one window of the clock)
    with_room_in_the_rate_window()
    statuses = [limited.post({"session": {"name": f"n{i}"}}).status for i in range(2)]
    third = limited.post({"session": {"name": "n3"}})
    # Then it is refused with the rate-limit headers
    assert statuses == [200, 200]
    assert third.status == 429
    assert third.json["error_type"] == "rate_limited"
    assert int(third.header("Retry-After") or "0") > 0
    assert third.header("RateLimit-Limit") == "2"


def test_a_poison_message_reaches_the_dead_letter_queue_and_dlq_redrive_brings_it_back(
    stack: LocalStackProcess,
) -> None:
    # Given a message the consumer can never read (an envelope version from the future), of a request
    # stored `queued`
    sqs = stack.client("sqs")
    queue_url = sqs.get_queue_url(QueueName="IngestQueue")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName="IngestDeadLetterQueue")["QueueUrl"]
    request_id = str(uuid.uuid4())
    stack.client("dynamodb").put_item(
        TableName="RequestsTable",
        Item={
            "pk": {"S": f"REQUEST#{request_id}"},
            "request_id": {"S": request_id},
            "endpoint_id": {"S": str(uuid.uuid4())},
            "status": {"S": "queued"},
            "accepted_at": {"S": "2026-06-14T12:00:00Z"},
            "warnings": {"L": []},
            "errors": {"L": []},
        },
    )
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps({"schema_version": 99, "request_id": request_id}),
        MessageAttributes={"request_id": {"DataType": "String", "StringValue": request_id}},
    )

    def dead_letters() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    # When it has failed the redrive policy's number of receives (1 s visibility timeout here)
    # Then it sits in the dead-letter queue
    assert eventually(dead_letters) == 1
    # And its request reads failed, with the reason, since its last allowed receive
    reason = "unsupported envelope schema_version 99"
    outcome = ingestctl(stack, "requests", "get", request_id)
    assert (outcome["status"], outcome["errors"]) == ("failed", [f"dead-lettered: {reason}"])
    # When an operator lists the dead-letter queue twice
    listed = [ingestctl(stack, "dlq", "list")["messages"] for _ in range(2)]
    # Then both show the message and its reason, and the outcome is unchanged
    assert [[(m["request_id"], m["reason"], m["outcome_status"]) for m in one] for one in listed] == [
        [(request_id, reason, "failed")]
    ] * 2
    assert ingestctl(stack, "requests", "get", request_id) == outcome
    # When an operator redrives the dead-letter queue
    ingestctl(stack, "dlq", "redrive")
    # Then it is back on the ingest queue, delivered to the consumer again, and dead-lettered again
    assert dead_letters() == 0
    assert eventually(dead_letters) == 1


def test_the_readme_walk_from_curl_to_a_created_session(stack: LocalStackProcess) -> None:
    # Given the demo endpoint and token `local up` printed
    demo = stack.ready
    url = f"{demo['api_url']}/api/webhook/ingest/{demo['endpoint_id']}"
    headers = {"Authorization": f"Bearer {demo['token']}", "Content-Type": "application/json"}
    # When the README's curl call is made
    answer = http(
        "POST", url, body=json.dumps({"session": {"name": "Readme walk"}}).encode(), headers=headers
    )
    # Then the queue drains, and ingestctl shows the outcome and the session, with only the printed exports
    assert answer.status == 200
    assert ingestctl(stack, "queue", "wait", "--timeout", "120")["drained"] is True
    outcome = ingestctl(stack, "requests", "get", answer.json["request_id"])
    assert outcome["status"] == "processed"
    listed = ingestctl(stack, "sessions", "list", "--event-id", "1")
    names = {session["name"] for session in listed["sessions"]}
    assert "Readme walk" in names


def test_local_up_on_a_port_in_use_exits_non_zero_naming_the_port(stack: LocalStackProcess) -> None:
    # Given the running stack's API port
    busy_port = stack.ready["api_url"].rsplit(":", 1)[1]
    # When a second stack is started on it
    done = subprocess.run(
        [sys.executable, "-m", "ingestctl", "local", "up", "--port", busy_port, "--aws-port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it refuses at once, saying which port, and prints no ready line
    assert done.returncode != 0
    assert f"port {busy_port}" in done.stderr
    assert done.stdout == ""


def test_an_unknown_route_gets_the_templates_gateway_response(stack: LocalStackProcess) -> None:
    # Given the template's MISSING_AUTHENTICATION_TOKEN gateway response (the contract's not_found shape)
    # When a path no Api event declares is requested
    answer = http("GET", f"{stack.ready['api_url']}/api/webhook/nowhere")
    # Then API Gateway answers with it, carrying the request id like every response
    assert answer.status == 404
    assert answer.json["error_type"] == "not_found"
    assert answer.header("X-Request-Id")
