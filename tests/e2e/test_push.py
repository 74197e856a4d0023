"""Agenda sync end to end: `ingestctl push` through the batch route of `local up` (contract §4b, §9).

The command runs as an integrator runs it (a subprocess, the token in INGEST_TOKEN); what it reports is
checked against what the stack stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from ingestctl.local.faults import read_fault_log
from ingestctl.local.launcher import LocalStackProcess
from tests.e2e.support import StackEndpoint, create_stack_endpoint
from tests.support.secret_guard import GUARD

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@dataclass(frozen=True)
class Pushed:
    exit_code: int
    summary: dict[str, Any]
    stderr: str


def push(endpoint: StackEndpoint, payloads: list[Any], *args: str, token: str | None = None) -> Pushed:
    """`ingestctl push` on NDJSON from stdin, as an integrator runs it."""
    environment = {**os.environ, "INGEST_TOKEN": token or endpoint.token}
    completed = subprocess.run(
        [
            sys.executable,
            *(
                "-m",
                "ingestctl",
                "push",
                "--api-url",
                endpoint.api_url,
                "--endpoint-id",
                endpoint.endpoint_id,
            ),
            *args,
            "-",
        ],
        input="".join(json.dumps(payload) + "\n" for payload in payloads),
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    summary = json.loads(completed.stdout) if completed.stdout.strip() else {}
    return Pushed(completed.returncode, summary, completed.stderr)


def stored_sessions(stack: LocalStackProcess, event_id: int) -> list[dict[str, Any]]:
    dynamodb, deserializer = stack.client("dynamodb"), TypeDeserializer()
    query: dict[str, Any] = {
        "TableName": "SessionsTable",
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
        "ExpressionAttributeValues": {":pk": {"S": f"EVENT#{event_id}"}, ":sk": {"S": "SESSION#"}},
        "ConsistentRead": True,
    }
    sessions: list[dict[str, Any]] = []
    while True:
        page = dynamodb.query(**query)
        sessions += [{k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return sessions
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def agenda(size: int, version: str) -> list[dict[str, Any]]:
    return [
        {
            "session": {
                "organisation_uid": f"agenda-{n}",
                "name": f"Session {n} ({version})",
                "start_time": f"2026-06-15 {9 + n % 8:02d}:00:00",
            }
        }
        for n in range(size)
    ]


def test_an_agenda_of_150_sessions_is_created_then_updated_without_duplicates(
    stack: LocalStackProcess,
) -> None:
    # Given an endpoint and an agenda of 150 sessions
    endpoint = create_stack_endpoint(stack)
    # When it is pushed in batches of 100 and followed to its outcomes
    created = push(endpoint, agenda(150, "v1"), "--wait", "--timeout", "120")
    # Then every session was created
    assert created.exit_code == 0, created.stderr
    assert {k: created.summary[k] for k in ("items", "queued", "processed", "created", "updated")} == {
        "items": 150,
        "queued": 150,
        "processed": 150,
        "created": 150,
        "updated": 0,
    }
    # When the agenda changes upstream and is pushed again
    updated = push(endpoint, agenda(150, "v2"), "--wait", "--timeout", "120")
    # Then every session was updated in place: still 150 sessions, one per uid, with the new names
    assert updated.exit_code == 0, updated.stderr
    assert (updated.summary["updated"], updated.summary["created"], updated.summary["problems"]) == (
        150,
        0,
        [],
    )
    sessions = stored_sessions(stack, endpoint.event_id)
    assert sorted(s["organisation_uid"] for s in sessions) == sorted(f"agenda-{n}" for n in range(150))
    assert all(s["name"].endswith("(v2)") for s in sessions)


def test_invalid_items_are_reported_by_their_index_and_the_rest_is_queued(stack: LocalStackProcess) -> None:
    # Given five payloads of which the 2nd and the 4th break field rules
    endpoint = create_stack_endpoint(stack)
    payloads = agenda(5, "v1")
    payloads[1]["session"]["start_time"] = "tomorrow morning"
    payloads[3]["session"]["card_link_type"] = "sideways"
    # When pushed in batches of 2
    pushed = push(endpoint, payloads, "--batch-size", "2", "--wait")
    # Then exit 1, the problems name indexes 1 and 3 with the fields at fault, and the other 3 are created
    assert pushed.exit_code == 1, pushed.stderr
    problems = pushed.summary["problems"]
    assert [(p["index"], p["status"]) for p in problems] == [(1, "invalid"), (3, "invalid")]
    assert [d["field"] for d in problems[0]["details"]] == ["start_time"]
    assert [d["field"] for d in problems[1]["details"]] == ["card_link_type"]
    assert (pushed.summary["invalid"], pushed.summary["created"]) == (2, 3)
    assert len(stored_sessions(stack, endpoint.event_id)) == 3


def test_a_bad_token_exits_3_and_stores_nothing(stack: LocalStackProcess) -> None:
    # Given an endpoint and a token that is not its own
    endpoint = create_stack_endpoint(stack)
    # When pushed with it
    pushed = push(
        endpoint, agenda(3, "v1"), token="sit_00000000000000000000000000000000_not-the-secret-at-all"
    )
    # Then exit 3 with a clear message, nothing queued
    assert pushed.exit_code == 3
    assert "token was refused (401)" in pushed.stderr
    assert pushed.summary["queued"] == 0
    assert stored_sessions(stack, endpoint.event_id) == []


def test_a_rate_limited_endpoint_is_waited_out_not_failed(stack: LocalStackProcess) -> None:
    # Given an endpoint allowing 2 requests a minute (this test takes up to a minute of real time)
    endpoint = create_stack_endpoint(stack, rate_limit=2)
    # When 3 batches are pushed
    pushed = push(endpoint, agenda(3, "v1"), "--batch-size", "1", "--wait", "--timeout", "60")
    # Then the third waited for the next window and everything was created
    assert pushed.exit_code == 0, pushed.stderr
    assert (pushed.summary["queued"], pushed.summary["created"]) == (3, 3)


@pytest.fixture(scope="module")
def flaky_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStackProcess, Path]]:
    """A local stack whose SQS takes only the first half of every SendMessageBatch (`partial_send`)."""
    workdir = tmp_path_factory.mktemp("flaky-stack")
    fault_log = workdir / "faults.jsonl"
    faults = json.dumps({"partial_send": 1.0, "log": str(fault_log)})
    args = ["--port", "0", "--aws-port", "0", "--faults", faults]
    process = LocalStackProcess(args, workdir / "local-up.log", region="eu-west-1")
    GUARD.watch(process.log_path)
    process.wait_ready()
    yield process, fault_log
    assert process.stop() == 0


def test_a_503_part_way_through_a_batch_is_retried_without_a_second_copy(
    flaky_stack: tuple[LocalStackProcess, Path],
) -> None:
    # Given a stack whose queue takes only half of each SendMessageBatch call
    stack, fault_log = flaky_stack
    endpoint = create_stack_endpoint(stack)
    # When 30 sessions are pushed in one batch and followed
    pushed = push(endpoint, agenda(30, "v1"), "--wait", "--timeout", "120")
    # Then SQS refused part of the batch at least once, yet every session was created exactly once
    assert any(entry["kind"] == "partial_send" for entry in read_fault_log(fault_log))
    assert pushed.exit_code == 0, pushed.stderr
    assert (pushed.summary["queued"], pushed.summary["created"], pushed.summary["problems"]) == (30, 30, [])
    sessions = stored_sessions(stack, endpoint.event_id)
    assert sorted(s["organisation_uid"] for s in sessions) == sorted(f"agenda-{n}" for n in range(30))
