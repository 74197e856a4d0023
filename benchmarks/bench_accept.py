"""Benchmark of the ingest API's accept path: AWS calls per request and handler latency (moto in-process).

    make bench-accept    # or: PYTHONPATH=functions/ingest_api python -m benchmarks.bench_accept -n 300

AWS calls are counted with botocore's `before-call` event on the service's own clients, per scenario:
cold (endpoint not yet cached), warm accepted (target: <= 2), with an Idempotency-Key, a replay, a
rejected payload, a status lookup. Latency is measured through the real Lambda handler (Powertools
resolver, logger, metrics) with API Gateway events: the total per request, and the handler's own share
(the total minus the time spent inside AWS calls, which here is moto's emulation, not the network).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

DEFAULT_REQUESTS = 300


@dataclass
class CallRecorder:
    """Counts AWS API calls and the time spent inside them, through botocore event hooks."""

    calls: Counter[str] = field(default_factory=Counter)
    seconds_in_calls: float = 0.0
    _started: float = 0.0

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call", self._before)
        client.meta.events.register("after-call", self._after)

    def _before(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.removeprefix("before-call.")] += 1
        self._started = time.perf_counter()

    def _after(self, **_: Any) -> None:
        self.seconds_in_calls += time.perf_counter() - self._started

    def reset(self) -> None:
        self.calls.clear()
        self.seconds_in_calls = 0.0


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what the handler prints (EMF metrics) so the figures stay readable."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--requests", type=int, default=DEFAULT_REQUESTS, help="warm requests to time")
    args = parser.parse_args()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_NAMESPACE": "SessionIngest",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    # A replay or a rejection publishes no RequestsAccepted; Powertools warns about that, harmlessly.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    run(args.requests)


def run(requests: int) -> None:
    # Imported here: the environment above must be set before Powertools and boto3 read it.
    import boto3
    from moto import mock_aws

    from ingestctl.admin.endpoints import create_endpoint
    from ingestctl.local.template import create_resources
    from session_ingest.adapters.aws import client, reset_clients
    from tests.fixtures import reference_session_payload
    from tests.support.ingest_api import ApiClient, HttpResult

    with mock_aws():
        created = create_resources(boto3.client("dynamodb"), boto3.client("sqs"))
        os.environ.update(created.environment())
        reset_clients()
        endpoint = create_endpoint("acme", 42, rate_limit_per_minute=1_000_000)
        api = ApiClient(endpoint["endpoint_id"], endpoint["token"])
        recorder = CallRecorder()
        recorder.attach(client("dynamodb"))
        recorder.attach(client("sqs"))
        payload = json.dumps(reference_session_payload())

        def measure(label: str, send: Callable[[], HttpResult], expected: int) -> None:
            recorder.reset()
            with quiet():
                result = send()
            assert result.status == expected, (label, result.status, result.body)
            calls = ", ".join(f"{name} x{count}" for name, count in sorted(recorder.calls.items()))
            print(f"  {label:<44} {sum(recorder.calls.values())} calls   ({calls or 'none'})")

        print("AWS calls per request (botocore before-call events on the API's clients)")
        measure("cold: first request, endpoint not cached", lambda: api.post(payload), 200)
        measure("warm: accepted", lambda: api.post(payload), 200)
        measure(
            "warm: accepted with Idempotency-Key", lambda: api.post(payload, idempotency_key="bench-key"), 200
        )
        measure("warm: Idempotency-Key replay", lambda: api.post(payload, idempotency_key="bench-key"), 200)
        measure("warm: rejected payload (422)", lambda: api.post({"session": {"start_time": "x"}}), 422)
        measure("warm: bad token (401)", lambda: api.post(payload, token=None), 401)
        with quiet():
            request_id = api.post(payload).body["request_id"]
        measure("warm: status lookup (GET)", lambda: api.get_outcome(request_id), 200)

        total: list[float] = []
        own: list[float] = []
        calls_per_request: list[int] = []
        calls_by_operation: Counter[str] = Counter()
        for _ in range(requests):
            recorder.reset()
            started = time.perf_counter()
            with quiet():
                result = api.post(payload)
            elapsed = time.perf_counter() - started
            assert result.status == 200
            total.append(elapsed)
            own.append(elapsed - recorder.seconds_in_calls)
            calls_per_request.append(sum(recorder.calls.values()))
            calls_by_operation.update(recorder.calls)

    print(f"\nWarm accepted requests through the handler, n={requests} (moto in-process)")
    mean_calls = statistics.fmean(calls_per_request)
    print(f"  AWS calls per request: mean {mean_calls:.3f}, max {max(calls_per_request)}")
    print("  calls by operation: " + ", ".join(f"{op} x{n}" for op, n in sorted(calls_by_operation.items())))
    # The endpoint cache is re-read every CONFIG_CACHE_SECONDS (one Query), whatever the traffic.
    refreshes = calls_by_operation["dynamodb.Query"]
    per_request = (sum(calls_by_operation.values()) - refreshes) / requests
    print(f"  per request, besides {refreshes} config refresh(es) every 30 s: {per_request:.2f}")
    for label, values in (("total (handler + moto)", total), ("handler's own (total - AWS calls)", own)):
        print(
            f"  {label:<36} median {statistics.median(values) * 1000:7.2f} ms"
            f"   p99 {percentile(values, 0.99) * 1000:7.2f} ms"
        )
    target = "met" if per_request <= 2 else "NOT met"
    print(f"  target <= 2 AWS calls per warm accepted request: {target}")


if __name__ == "__main__":
    main()
