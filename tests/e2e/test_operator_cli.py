"""The operator CLI against `ingestctl local up`, run as a user would (its own process, only what
`local up` printed exported): endpoint update, sessions find, dashboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingestctl.local.launcher import LocalStackProcess
from session_ingest import limits
from tests.e2e.conftest import eventually, http
from tests.e2e.support import StackEndpoint, create_stack_endpoint, headers_of
from tests.support.openapi_contract import DRY_RUN, LISTING, OUTCOME, assert_documented

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

API_ENVIRONMENTS = 2  # `local up`'s default --api-concurrency: each warm environment has its own cache


def ingestctl_text(stack: LocalStackProcess, *args: str) -> str:
    """Run ingestctl in its own process; what it printed on stdout (the command must succeed)."""
    environment = {**os.environ, **stack.aws_environment()}
    for name in ("ENDPOINTS_TABLE", "REQUESTS_TABLE", "SESSIONS_TABLE", "INGEST_QUEUE_URL", "AWS_REGION"):
        environment.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "ingestctl", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def ingestctl(stack: LocalStackProcess, *args: str) -> Any:
    """Its JSON answer."""
    return json.loads(ingestctl_text(stack, *args))


def processed(endpoint: StackEndpoint, payload: Any) -> dict[str, Any]:
    """Send a payload and wait for its outcome to be final."""
    answer = endpoint.post(payload)
    assert answer.status == 200, answer.body
    request_id = answer.json["request_id"]

    def final() -> dict[str, Any] | None:
        outcome: dict[str, Any] = endpoint.send(OUTCOME, request_id=request_id).json
        return outcome if outcome["status"] != "queued" else None

    return eventually(final)


def _figure(dashboard: dict[str, Any], label: str) -> float:
    return float(sum(s["summary"] or 0 for s in dashboard["metrics"] if s["label"] == label))


def test_traffic_with_a_duplicate_uid_shows_in_sessions_find_and_on_the_dashboard(
    stack: LocalStackProcess,
) -> None:
    # Given an endpoint that stored two sessions, then gave the second the first one's uid (rule 4)
    endpoint = create_stack_endpoint(stack, organisation="ops")
    first = processed(endpoint, {"session": {"organisation_uid": "dup", "name": "One"}})
    second = processed(endpoint, {"session": {"organisation_uid": "other", "name": "Two"}})
    duplicate = processed(
        endpoint, {"session": {"resource_id": second["resource_id"], "organisation_uid": "dup"}}
    )
    assert "duplicate_organisation_uid" in {warning["code"] for warning in duplicate["warnings"]}
    # When the operator looks the uid up
    found = ingestctl(stack, "sessions", "find", "--event-id", str(endpoint.event_id), "--uid", "dup")
    # Then both holders are listed, the first as the one uid-only payloads update
    assert [s["resource_id"] for s in found["sessions"]] == [first["resource_id"], second["resource_id"]]
    assert found["matched_by_uid"] == first["resource_id"]

    # And the dashboard (metrics published to the local CloudWatch) counts the traffic
    def dashboard_with_traffic() -> dict[str, Any] | None:
        dashboard: dict[str, Any] = ingestctl(stack, "dashboard", "--json", "--minutes", "15")
        counted = (
            _figure(dashboard, "requests accepted") >= 3
            and _figure(dashboard, "sessions created") >= 2
            and _figure(dashboard, "duplicate organisation uids") >= 1
        )
        return dashboard if counted else None

    dashboard = eventually(dashboard_with_traffic, interval=2)
    assert set(dashboard["queues"]) == {"ingest", "dead-letter"}
    # And the human view draws the same figures
    table = ingestctl_text(stack, "dashboard", "--minutes", "15")
    assert "duplicate organisation uids" in table


def test_an_update_of_rate_limit_and_mapping_is_applied_within_the_cache_ttl(
    stack: LocalStackProcess, tmp_path: Path
) -> None:
    # Given an endpoint in use with the default mapping and rate limit, cached by the warm API
    endpoint = create_stack_endpoint(stack, organisation="ops", rate_limit=1000)
    payload = json.dumps({"item": {"organisation_uid": "U-1", "title": "Keynote"}}).encode()
    assert endpoint.send(DRY_RUN, payload).status == 422
    # When the operator changes both (one command, one new config version)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"root_key": "item", "fields": {"name": "title"}}))
    updated = ingestctl(
        stack, "endpoint", "update", endpoint.endpoint_id, "--rate-limit", "900", "--mapping", str(mapping)
    )
    updated_by = time.monotonic()  # every config cached before the update expires by updated_by + TTL
    assert updated["config_version"] == 2

    # Then once the cache TTL has passed (the one test here that waits in real time) every warm API
    # environment applies both: several dry runs in a row map the payload under the new limit. Waiting
    # out the TTL, then asking, holds however slowly a loaded machine answers the dry runs themselves.
    time.sleep(max(0.0, updated_by + limits.CONFIG_CACHE_SECONDS - time.monotonic()))
    answers = [endpoint.send(DRY_RUN, payload) for _ in range(API_ENVIRONMENTS * 2)]
    assert [(a.status, a.header("RateLimit-Limit")) for a in answers] == [(200, "900")] * len(answers)
    assert answers[-1].json["record"]["name"] == "Keynote"


def _failed_by_the_consumer(stack: LocalStackProcess, endpoint: StackEndpoint) -> str:
    """A request of the endpoint that the consumer fails for good: its envelope names another
    organisation's session (as only a misbehaving producer could send), so the outcome ends `failed`."""
    sqs = stack.client("sqs")
    request_id = str(uuid.uuid4())
    envelope = {
        "schema_version": 1,
        "request_id": request_id,
        "endpoint_id": endpoint.endpoint_id,
        "organisation": "ops",
        "event_id": endpoint.event_id,
        "endpoint_type": "session",
        "accepted_at": datetime.now(UTC).isoformat(),
        "payload": {},
        "record": {"resource_id": "someone-else/session/1", "name": "Not ours"},
    }
    sqs.send_message(
        QueueUrl=sqs.get_queue_url(QueueName="IngestQueue")["QueueUrl"],
        MessageBody=json.dumps(envelope),
        MessageAttributes={"request_id": {"DataType": "String", "StringValue": request_id}},
    )

    def failed() -> bool:
        answer = endpoint.send(OUTCOME, request_id=request_id)
        return answer.status == 200 and answer.json["status"] == "failed"

    assert eventually(failed)
    return request_id


def test_an_integrator_lists_its_requests_newest_first_filtered_and_paged(stack: LocalStackProcess) -> None:
    # Given an endpoint with a processed request, one the consumer failed, and a newer processed one,
    # and another endpoint's request
    endpoint = create_stack_endpoint(stack, organisation="ops")
    other = create_stack_endpoint(stack, organisation="ops")
    ids = [processed(endpoint, {"session": {"organisation_uid": "L-1", "name": "One"}})["request_id"]]
    ids.append(_failed_by_the_consumer(stack, endpoint))
    ids.append(processed(endpoint, {"session": {"organisation_uid": "L-3", "name": "Three"}})["request_id"])
    theirs = processed(other, {"session": {"organisation_uid": "L-1", "name": "Theirs"}})["request_id"]

    def listed(**query: str) -> list[dict[str, Any]]:
        outcomes: list[dict[str, Any]] = []
        cursor = None
        while True:
            parameters = query | ({"cursor": cursor} if cursor else {})
            url = f"{endpoint.url_for(LISTING)}?{urllib.parse.urlencode(parameters)}"
            page = http("GET", url, headers={"Authorization": f"Bearer {endpoint.token}"})
            assert page.status == 200, page.body
            assert_documented(LISTING, page.status, headers_of(page), page.body)
            outcomes.extend(page.json["requests"])
            cursor = page.json["next"]
            if cursor is None:
                return outcomes

    # When it lists them, one per page, and by status
    everything = listed(limit="1")
    failed = listed(status="failed")
    kept = listed(status="processed")
    # Then they come newest first, each once, only its own
    assert [o["request_id"] for o in everything] == ids[::-1]
    assert theirs not in {o["request_id"] for o in everything}
    # And each status filter holds only its status
    assert [o["request_id"] for o in failed] == [ids[1]]
    assert [o["request_id"] for o in kept] == [ids[2], ids[0]]
    # And the operator's `requests list` answers the same document
    page = ingestctl(stack, "requests", "list", "--endpoint-id", endpoint.endpoint_id, "--status", "failed")
    assert [o["request_id"] for o in page["requests"]] == [ids[1]]
