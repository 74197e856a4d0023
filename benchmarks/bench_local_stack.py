"""End-to-end throughput of the local stack against the floor of its own moto server, in both ingest modes.

    make bench-local-stack            (or: python -m benchmarks.bench_local_stack --requests 300 --clients 8
                                       --batch-size 100)

1. Starts `ingestctl local up` on free ports and creates an endpoint with a rate limit above the load.
2. Single mode: N session payloads (each a new organisation uid) posted one per request over HTTP by C
   concurrent clients; waits for the queue to drain; reads every request's outcome: accepted-to-processed
   throughput (processed requests / span from the first accept to the last processing), latency p50/p99,
   and the AWS requests moto served per record.
3. Batch mode: N more payloads posted through `POST …/batch` in batches of --batch-size by `ingestctl
   push`'s client (C clients), measured the same way.
4. Floor: the same moto server doing only the raw AWS calls per record (one SQS SendMessage and one
   DynamoDB PutItem) from C threads, on a queue and table of its own.
5. Prints each mode's ratio to the floor (targets: single >= 0.5, batch >= 1.0), the accounting
   (processed + failed = accepted, one session per uid, none duplicated) and the functions' peak memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ingestctl.commands.queue import wait_until_drained
from ingestctl.local import DEFAULT_CONSUMER_CONCURRENCY
from ingestctl.local.launcher import LocalStackProcess, service_pointed_at
from ingestctl.local.stack import moto_log_path
from ingestctl.push_client import Batch, ItemStatus, PushClient, PushOutcome, make_batches

EVENT_ID = 4242
DRAIN_TIMEOUT_SECONDS = 600.0


def moto_requests(log_path: Path) -> int:
    """Requests moto has served so far (one access-log line each)."""
    with log_path.open(encoding="utf-8", errors="replace") as log:
        return sum(1 for line in log if '" 200 ' in line or '" 400 ' in line)


class CountingQueueClient:
    """An SQS client that counts the queue-depth reads the benchmark itself makes (not the stack's calls)."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self.calls = 0

    def get_queue_attributes(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self._sqs.get_queue_attributes(**kwargs)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class StackRun:
    accepted: list[str]
    rejected: dict[int, int]
    send_seconds: float


def post_sessions(url: str, token: str, count: int, clients: int, run_id: str) -> StackRun:
    accepted: list[str] = []
    rejected: dict[int, int] = {}
    lock = threading.Lock()

    def post(index: int) -> None:
        payload = {"session": {"organisation_uid": f"{run_id}-{index}", "name": f"Benchmark session {index}"}}
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                request_id = json.loads(response.read())["request_id"]
            with lock:
                accepted.append(request_id)
        except urllib.error.HTTPError as error:
            with lock:
                rejected[error.code] = rejected.get(error.code, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(post, range(count)))
    return StackRun(accepted, rejected, time.perf_counter() - started)


def push_sessions(
    api_url: str, endpoint_id: str, token: str, count: int, clients: int, batch_size: int, run_id: str
) -> StackRun:
    """The same kind of payloads as `post_sessions`, through the batch route, by `ingestctl push`'s client."""
    payloads = [
        {"session": {"organisation_uid": f"{run_id}-{index}", "name": f"Benchmark session {index}"}}
        for index in range(count)
    ]
    batches = make_batches(payloads, batch_size)
    shares = [batches[worker::clients] for worker in range(clients)]

    def push(share: list[Batch]) -> PushOutcome:
        return PushClient(api_url, endpoint_id, token).push(share)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(push, [share for share in shares if share]))
    send_seconds = time.perf_counter() - started
    reports = [report for outcome in outcomes for report in outcome.reports]
    accepted = [r.request_id for r in reports if r.status is ItemStatus.QUEUED and r.request_id is not None]
    rejected: dict[int, int] = {}
    if len(accepted) < count:
        rejected[0] = count - len(accepted)  # not queued (the push client's problems)
    return StackRun(accepted, rejected, send_seconds)


def read_outcomes(stack: LocalStackProcess, request_ids: list[str]) -> list[dict[str, Any]]:
    dynamodb = stack.client("dynamodb")
    outcomes: list[dict[str, Any]] = []
    for start in range(0, len(request_ids), 100):
        keys = [{"pk": {"S": f"REQUEST#{rid}"}} for rid in request_ids[start : start + 100]]
        pending: dict[str, Any] = {"RequestsTable": {"Keys": keys, "ConsistentRead": True}}
        while pending:
            answer = dynamodb.batch_get_item(RequestItems=pending)
            outcomes += answer["Responses"].get("RequestsTable", [])
            pending = answer.get("UnprocessedKeys") or {}
    return outcomes


def _timestamp(value: dict[str, str]) -> datetime:
    return datetime.fromisoformat(value["S"].replace("Z", "+00:00"))


def session_uids(stack: LocalStackProcess, run_id: str) -> list[str]:
    dynamodb = stack.client("dynamodb")
    uids: list[str] = []
    query: dict[str, Any] = {
        "TableName": "SessionsTable",
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
        "ExpressionAttributeValues": {":pk": {"S": f"EVENT#{EVENT_ID}"}, ":sk": {"S": "SESSION#"}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.query(**query)
        uids += [item["organisation_uid"]["S"] for item in page["Items"] if "organisation_uid" in item]
        if "LastEvaluatedKey" not in page:
            return [uid for uid in uids if uid.startswith(run_id)]
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def floor_throughput(stack: LocalStackProcess, count: int, clients: int) -> float:
    """Records per second when each record costs only one SQS send and one DynamoDB write."""
    sqs, dynamodb = stack.client("sqs"), stack.client("dynamodb")
    queue_url = sqs.create_queue(QueueName="BenchFloorQueue")["QueueUrl"]
    dynamodb.create_table(
        TableName="BenchFloorTable",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    local = threading.local()

    def record(index: int) -> None:
        if not hasattr(local, "clients"):
            local.clients = (stack.client("sqs"), stack.client("dynamodb"))
        thread_sqs, thread_dynamodb = local.clients
        body = json.dumps({"session": {"organisation_uid": f"floor-{index}", "name": f"Floor {index}"}})
        thread_sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        thread_dynamodb.put_item(
            TableName="BenchFloorTable", Item={"pk": {"S": f"floor-{index}"}, "body": {"S": body}}
        )

    with ThreadPoolExecutor(max_workers=clients) as pool:
        started = time.perf_counter()
        list(pool.map(record, range(count)))
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--api-concurrency", type=int, default=2)
    parser.add_argument(
        "--consumer-concurrency",
        type=int,
        default=DEFAULT_CONSUMER_CONCURRENCY,
        help="consumer pollers (default: the local stack's own)",
    )
    parser.add_argument("--batch-size", type=int, default=100, help="items per request in batch mode (1-100)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-local-stack-"))
    report_file = workdir / "report.json"
    stack = LocalStackProcess(
        [
            *("--port", "0", "--aws-port", "0"),  # the ports the OS gives; the ready line names them
            *("--api-concurrency", str(args.api_concurrency)),
            *("--consumer-concurrency", str(args.consumer_concurrency)),
            *("--report-file", str(report_file)),
        ],
        workdir / "local-up.log",
    )
    try:
        ready = stack.wait_ready()
        aws_port = urllib.parse.urlsplit(ready["aws_endpoint_url"]).port or 0
        with service_pointed_at(stack):
            from ingestctl.admin.endpoints import create_endpoint  # after the stack is up

            endpoint = create_endpoint("bench", EVENT_ID, rate_limit_per_minute=1_000_000)
        url = f"{ready['api_url']}/api/webhook/ingest/{endpoint['endpoint_id']}"
        run_id = f"bench-{uuid.uuid4().hex[:8]}"
        measured = {
            "single": measure_mode(
                stack,
                aws_port,
                f"{run_id}-single",
                lambda uid_prefix: post_sessions(
                    url, endpoint["token"], args.requests, args.clients, uid_prefix
                ),
            ),
            f"batch of {args.batch_size}": measure_mode(
                stack,
                aws_port,
                f"{run_id}-batch",
                lambda uid_prefix: push_sessions(
                    ready["api_url"],
                    endpoint["endpoint_id"],
                    endpoint["token"],
                    args.requests,
                    args.clients,
                    args.batch_size,
                    uid_prefix,
                ),
            ),
        }
        floor = floor_throughput(stack, args.requests, args.clients)
    finally:
        exit_code = stack.stop()
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    print(f"local stack benchmark: {args.requests} requests per mode, {args.clients} concurrent clients")
    print(f"  api environments {args.api_concurrency}, consumer pollers {args.consumer_concurrency}")
    print(f"  floor (same moto: SQS send + DynamoDB put per record): {floor:.1f} records/s")
    for (mode, result), target in zip(measured.items(), (0.5, 1.0), strict=True):
        _print_figures(mode, result, floor, target)
    print(
        f"  peak memory per function (VmHWM of its environments): {report.get('peak_memory_mib', 'n/a')} MiB"
    )
    invocations = report.get("invocations", "n/a")
    print(f"  invocations: {invocations}; stack exit code {exit_code}; log {stack.log_path}")


@dataclass
class ModeResult:
    run: StackRun
    drained: bool
    depth: Any
    outcomes: list[dict[str, Any]]
    uids: list[str]
    moto_requests: int


def measure_mode(
    stack: LocalStackProcess, aws_port: int, run_id: str, send: Callable[[str], StackRun]
) -> ModeResult:
    """Send one mode's payloads, wait for the consumer, and read what happened to them."""
    requests_before = moto_requests(moto_log_path(aws_port))
    run = send(run_id)
    depth_reader = CountingQueueClient(stack.client("sqs"))
    drained, depth = wait_until_drained(depth_reader, _queue_url(stack), DRAIN_TIMEOUT_SECONDS)
    stack_requests = moto_requests(moto_log_path(aws_port)) - requests_before - depth_reader.calls - 1
    outcomes = read_outcomes(stack, run.accepted)
    return ModeResult(run, drained, depth, outcomes, session_uids(stack, run_id), stack_requests)


def _queue_url(stack: LocalStackProcess) -> str:
    url: str = stack.client("sqs").get_queue_url(QueueName="IngestQueue")["QueueUrl"]
    return url


def _print_figures(mode: str, result: ModeResult, floor: float, target: float) -> None:
    run, outcomes, uids = result.run, result.outcomes, result.uids
    by_status: dict[str, int] = {}
    for outcome in outcomes:
        by_status[outcome["status"]["S"]] = by_status.get(outcome["status"]["S"], 0) + 1
    done = [o for o in outcomes if o["status"]["S"] == "processed" and "processed_at" in o]
    latencies = [(_timestamp(o["processed_at"]) - _timestamp(o["accepted_at"])).total_seconds() for o in done]
    span = (
        max(_timestamp(o["processed_at"]) for o in done) - min(_timestamp(o["accepted_at"]) for o in done)
    ).total_seconds()
    throughput = len(done) / span if span > 0 else 0.0
    processed, failed = by_status.get("processed", 0), by_status.get("failed", 0)
    duplicates = len(uids) - len(set(uids))
    print(f"{mode} mode:")
    print(
        f"  accepted {len(run.accepted)} in {run.send_seconds:.1f} s "
        f"({len(run.accepted) / run.send_seconds:.1f} records/s)"
    )
    print(f"  rejected {run.rejected or 'none'}")
    print(f"  queue drained: {result.drained} ({result.depth})")
    print(f"  outcomes: {by_status}")
    print(f"  accepted-to-processed throughput: {throughput:.1f} records/s over {span:.1f} s")
    print(f"  latency p50 {statistics.median(latencies):.2f} s, p99 {percentile(latencies, 0.99):.2f} s")
    print(f"  ratio stack/floor: {throughput / floor:.2f} (target >= {target})")
    print(
        f"  AWS requests moto served per record: {result.moto_requests / max(len(run.accepted), 1):.1f} "
        "(the functions' calls + the emulator's receives, deletes and metrics; the floor's: 2.0)"
    )
    print(
        f"  accounting: processed {processed} + failed {failed} = {processed + failed} "
        f"of accepted {len(run.accepted)}: {'OK' if processed + failed == len(run.accepted) else 'MISMATCH'}"
    )
    print(f"  sessions for this run's uids: {len(uids)} ({len(set(uids))} distinct, {duplicates} duplicated)")


if __name__ == "__main__":
    main()
