"""One soak run against `ingestctl local up`, with faults injected in the stack's function processes.

1. Starts the local stack (free ports, a short visibility timeout, `--faults`), creates the endpoints.
2. Concurrent integrators post the planned requests (`workload`), retrying like good clients (`client`).
3. Waits for the ingest queue to drain, lists the DLQ (`ingestctl dlq list`'s code, read-only: the
   consumer already made dead-lettered outcomes `failed` with their reason), reads every request item,
   idempotency claim and session of the soak's endpoints, and the faults the workers logged.
4. Stops the stack and checks the invariants (`verify`).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from benchmarks.soak.client import Integrator, submit_all
from benchmarks.soak.verify import (
    DeadLetterView,
    Observations,
    ServerRequest,
    StoredSessionView,
    Verdict,
    verify,
)
from benchmarks.soak.workload import POISON_MARKER, Endpoint, WorkloadShape, plan_workload
from ingestctl.commands.queue import wait_until_drained
from ingestctl.dead_letters import DeadLetterQueue
from ingestctl.local.faults import FaultPlan, read_fault_log
from ingestctl.local.launcher import LocalStackProcess, service_pointed_at
from ingestctl.resources import configure
from session_ingest.domain.idempotency import sha256_hex
from session_ingest.domain.sessions import RESERVED_ATTRIBUTES
from session_ingest.domain.utc import parse_utc
from session_ingest.service.request_outcomes import UNKNOWN_REASON

RATE_LIMIT_PER_MINUTE = 1_000_000  # the soak measures faults, not the rate limiter
# Fault plan fields -> the kind each injected fault is logged as.
FAULT_KINDS = {
    "throttle": "throttle",
    "record_error": "record_error",
    "record_error_after_commit": "record_error_after_commit",
    "worker_kill_every": "worker_kill",
    "poison": "poison",
    "delay_send": "delay_send",
    "duplicate_send": "duplicate_send",
    "send_error": "send_error",
}
DEFAULT_FAULTS = FaultPlan(
    throttle=0.01,
    throttle_repeat=0.6,
    record_error=0.03,
    record_error_after_commit=0.02,
    worker_kill_every=250,
    poison=POISON_MARKER,
    delay_send=0.1,
    duplicate_send=0.05,
    send_error=0.01,
    max_delay_seconds=3,
)


KILLS_PER_WORKER = 3


def default_faults(requests: int, consumer_concurrency: int) -> FaultPlan:
    """DEFAULT_FAULTS, killing each consumer worker about KILLS_PER_WORKER times over a run this size."""
    commits_per_worker = requests // max(consumer_concurrency, 1)
    every = max(10, commits_per_worker // (KILLS_PER_WORKER + 1))
    return DEFAULT_FAULTS.model_copy(update={"worker_kill_every": every})


@dataclass(frozen=True)
class SoakConfig:
    requests: int = 3000
    clients: int = 16
    endpoints: int = 8
    updates_per_uid: int = 4
    duration_seconds: float | None = None  # stop sending after this long (the rest of the plan is dropped)
    visibility_timeout: int = 3
    api_concurrency: int = 4
    consumer_concurrency: int = 3
    drain_timeout_seconds: float = 900.0
    seed: int = 1
    faults: FaultPlan = field(default_factory=lambda: DEFAULT_FAULTS)

    def parameters(self) -> dict[str, Any]:
        values = asdict(self)
        values["faults"] = self.faults.describe()
        return values


@dataclass
class SoakResult:
    verdict: Verdict
    config: SoakConfig
    stack_exit_code: int
    stack_log: Path
    fault_log: Path

    @property
    def ok(self) -> bool:
        return self.verdict.ok and self.stack_exit_code == 0


def _stack_args(config: SoakConfig, plan: FaultPlan, report_file: Path) -> list[str]:
    return [
        *("--port", "0", "--aws-port", "0"),  # the ports the OS gives; the ready line names them
        *("--visibility-timeout", str(config.visibility_timeout)),
        *("--api-concurrency", str(config.api_concurrency)),
        *("--consumer-concurrency", str(config.consumer_concurrency)),
        *("--faults", plan.model_dump_json()),
        *("--report-file", str(report_file)),
    ]


def enabled_faults(plan: FaultPlan) -> tuple[str, ...]:
    return tuple(kind for name, kind in FAULT_KINDS.items() if getattr(plan, name))


def run_soak(config: SoakConfig, workdir: Path | None = None) -> SoakResult:
    workdir = workdir or Path(tempfile.mkdtemp(prefix="soak-"))
    fault_log, report_file = workdir / "faults.jsonl", workdir / "report.json"
    plan = config.faults.model_copy(update={"log": fault_log, "seed": config.seed})
    shape = WorkloadShape(
        requests=config.requests,
        endpoints=config.endpoints,
        updates_per_uid=config.updates_per_uid,
        poison_fraction=0.01 if plan.poison else 0.0,
        seed=config.seed,
    )
    endpoints, planned = plan_workload(shape)
    stack = LocalStackProcess(_stack_args(config, plan, report_file), workdir / "local-up.log")
    try:
        ready = stack.wait_ready()
        tokens = _create_endpoints(stack, endpoints)
        integrator = Integrator(ready["api_url"], tokens, seed=config.seed)
        started = time.monotonic()
        deadline = started + config.duration_seconds if config.duration_seconds else None
        submissions = submit_all(integrator, planned, config.clients, deadline)
        send_seconds = time.monotonic() - started
        drained, _ = wait_until_drained(stack.client("sqs"), _queue_url(stack), config.drain_timeout_seconds)
        dead_letters = _dead_letters(stack)
        endpoint_ids = {index: endpoint_id for index, (endpoint_id, _) in tokens.items()}
        requests, claims = _requests_and_claims(stack, set(endpoint_ids.values()))
        sessions = _sessions(stack, [endpoint.event_id for endpoint in endpoints])
    finally:
        exit_code = stack.stop()
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    observed = Observations(
        submissions=submissions,
        endpoint_ids=endpoint_ids,
        requests=requests,
        claims=claims,
        dead_letters=dead_letters,
        sessions=sessions,
        fault_entries=list(read_fault_log(fault_log)),
        enabled_faults=enabled_faults(plan),
        queue_drained=drained,
        send_seconds=send_seconds,
        replaced_environments=report.get("replaced_environments", {}),
    )
    return SoakResult(verify(observed, sha256_hex), config, exit_code, stack.log_path, fault_log)


def _create_endpoints(stack: LocalStackProcess, endpoints: list[Endpoint]) -> dict[int, tuple[str, str]]:
    with service_pointed_at(stack):
        from ingestctl.admin.endpoints import create_endpoint  # after the stack is up

        created = {
            endpoint.index: create_endpoint(
                endpoint.organisation, endpoint.event_id, rate_limit_per_minute=RATE_LIMIT_PER_MINUTE
            )
            for endpoint in endpoints
        }
    return {index: (value["endpoint_id"], value["token"]) for index, value in created.items()}


def _queue_url(stack: LocalStackProcess) -> str:
    url: str = stack.client("sqs").get_queue_url(QueueName="IngestQueue")["QueueUrl"]
    return url


def _dead_letters(stack: LocalStackProcess) -> list[DeadLetterView]:
    """`ingestctl dlq list`: every DLQ message with its recorded reason (read-only)."""
    with service_pointed_at(stack):
        letters = DeadLetterQueue(configure()).inspect()
    return [
        DeadLetterView(letter.request_id, letter.reason, letter.reason != UNKNOWN_REASON)
        for letter in letters
    ]


def _scan(stack: LocalStackProcess, table: str, **query: Any) -> list[dict[str, Any]]:
    dynamodb, deserializer = stack.client("dynamodb"), TypeDeserializer()
    operation = dynamodb.query if "KeyConditionExpression" in query else dynamodb.scan
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True, **query}
    items: list[dict[str, Any]] = []
    while True:
        page = operation(**request)
        items += [{k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _requests_and_claims(
    stack: LocalStackProcess, endpoint_ids: set[str]
) -> tuple[dict[str, ServerRequest], dict[tuple[str, str], str]]:
    requests: dict[str, ServerRequest] = {}
    claims: dict[tuple[str, str], str] = {}
    for item in _scan(stack, "RequestsTable"):
        pk = str(item["pk"])
        if pk.startswith("IDEMPOTENCY#"):
            _, endpoint_id, key_hash = pk.split("#", 2)
            if endpoint_id in endpoint_ids:
                claims[(endpoint_id, key_hash)] = str(item["request_id"])
        elif pk.startswith("REQUEST#") and item.get("endpoint_id") in endpoint_ids:
            requests[str(item["request_id"])] = _server_request(item)
    return requests, claims


def _server_request(item: dict[str, Any]) -> ServerRequest:
    processed_at = item.get("processed_at")
    return ServerRequest(
        request_id=str(item["request_id"]),
        endpoint_id=str(item["endpoint_id"]),
        status=str(item["status"]),
        accepted_at=parse_utc(str(item["accepted_at"])),
        processed_at=parse_utc(str(processed_at)) if processed_at else None,
        action=item.get("action"),
        resource_id=item.get("resource_id"),
        warning_codes=tuple(str(w.get("code")) for w in item.get("warnings") or []),
        errors=tuple(str(e) for e in item.get("errors") or []),
    )


def _sessions(stack: LocalStackProcess, event_ids: list[int]) -> list[StoredSessionView]:
    sessions = []
    for event_id in event_ids:
        for item in _scan(
            stack,
            "SessionsTable",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={":pk": {"S": f"EVENT#{event_id}"}, ":sk": {"S": "SESSION#"}},
        ):
            sessions.append(
                StoredSessionView(
                    event_id=event_id,
                    resource_id=str(item["resource_id"]),
                    fields={k: v for k, v in item.items() if k not in RESERVED_ATTRIBUTES},
                    field_accepted_at={
                        name: parse_utc(str(moment))
                        for name, moment in item.get("field_accepted_at", {}).items()
                    },
                )
            )
    return sessions
