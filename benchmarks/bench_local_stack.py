"""End-to-end throughput of the local stack against the floor of its own moto server.

    make bench-local-stack            (or: python -m benchmarks.bench_local_stack --requests 300 --clients 8)

1. Starts `ingestctl local up` on free ports and creates an endpoint with a rate limit above the load.
2. Stack: N session payloads (each a new organisation uid) posted over HTTP by C concurrent clients; waits
   for the queue to drain; reads every request's outcome: accepted-to-processed throughput (processed
   requests / span from the first accept to the last processing) and latency p50/p99.
3. Floor: the same moto server doing only the raw AWS calls per record (one SQS SendMessage and one
   DynamoDB PutItem) from C threads, on a queue and table of its own.
4. Prints the ratio stack/floor (target >= 0.5), the accounting (processed + failed = accepted, one
   session per uid, none duplicated) and the functions' peak memory.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ingestctl.commands.queue import wait_until_drained
from ingestctl.local.launcher import LocalStackProcess, service_pointed_at
from ingestctl.local.stack import moto_log_path

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
    parser.add_argument("--consumer-concurrency", type=int, default=2)
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
        moto_log = moto_log_path(urllib.parse.urlsplit(ready["aws_endpoint_url"]).port or 0)
        with service_pointed_at(stack):
            from ingestctl.admin.endpoints import create_endpoint  # after the stack is up

            endpoint = create_endpoint("bench", EVENT_ID, rate_limit_per_minute=1_000_000)
        url = f"{ready['api_url']}/api/webhook/ingest/{endpoint['endpoint_id']}"
        run_id = f"bench-{uuid.uuid4().hex[:8]}"

        requests_before = moto_requests(moto_log)
        run = post_sessions(url, endpoint["token"], args.requests, args.clients, run_id)
        depth_reader = CountingQueueClient(stack.client("sqs"))
        drained, depth = wait_until_drained(depth_reader, _queue_url(stack), DRAIN_TIMEOUT_SECONDS)
        stack_requests = moto_requests(moto_log) - requests_before - depth_reader.calls - 1
        outcomes = read_outcomes(stack, run.accepted)
        floor = floor_throughput(stack, args.requests, args.clients)
        uids = session_uids(stack, run_id)
    finally:
        exit_code = stack.stop()
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    _print_figures(args, run, drained, depth, outcomes, floor, uids, report, exit_code, stack.log_path)
    print(
        f"  AWS requests moto served per record: stack {stack_requests / max(len(run.accepted), 1):.1f} "
        "(the functions' calls + the emulator's receives, deletes and metrics), floor 2.0"
    )


def _queue_url(stack: LocalStackProcess) -> str:
    url: str = stack.client("sqs").get_queue_url(QueueName="IngestQueue")["QueueUrl"]
    return url


def _print_figures(
    args: argparse.Namespace,
    run: StackRun,
    drained: bool,
    depth: Any,
    outcomes: list[dict[str, Any]],
    floor: float,
    uids: list[str],
    report: dict[str, Any],
    exit_code: int,
    log_path: Path,
) -> None:
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
    print(f"local stack benchmark: {args.requests} requests, {args.clients} concurrent clients")
    print(f"  api environments {args.api_concurrency}, consumer pollers {args.consumer_concurrency}")
    print(
        f"  accepted {len(run.accepted)} in {run.send_seconds:.1f} s "
        f"({len(run.accepted) / run.send_seconds:.1f} req/s)"
    )
    print(f"  rejected {run.rejected or 'none'}")
    print(f"  queue drained: {drained} ({depth})")
    print(f"  outcomes: {by_status}")
    print(f"  accepted-to-processed throughput: {throughput:.1f} records/s over {span:.1f} s")
    print(f"  latency p50 {statistics.median(latencies):.2f} s, p99 {percentile(latencies, 0.99):.2f} s")
    print(f"  floor (same moto: SQS send + DynamoDB put per record): {floor:.1f} records/s")
    print(f"  ratio stack/floor: {throughput / floor:.2f} (target >= 0.5)")
    print(
        f"  accounting: processed {processed} + failed {failed} = {processed + failed} "
        f"of accepted {len(run.accepted)}: {'OK' if processed + failed == len(run.accepted) else 'MISMATCH'}"
    )
    print(f"  sessions for this run's uids: {len(uids)} ({len(set(uids))} distinct, {duplicates} duplicated)")
    print(
        f"  peak memory per function (VmHWM of its environments): {report.get('peak_memory_mib', 'n/a')} MiB"
    )
    print(f"  invocations: {report.get('invocations', 'n/a')}; stack exit code {exit_code}; log {log_path}")


if __name__ == "__main__":
    main()
