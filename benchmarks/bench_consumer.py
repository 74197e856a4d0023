"""Consumer benchmark: AWS calls per processed record by path, and records/s through the handler.

Run with `make bench-consumer`. Calls are counted with botocore's `before-call` event (one per API call
the code makes; botocore retries of that call are not extra calls) on the service's own clients, against
moto in-process with the template's tables and queues. Targets (issue 4): update path <= 4 calls,
create path <= 5 calls per record; a full SQS batch of 10 (creates with uid, updates by uid) <= 1.5
calls per record, since the batch's reads and new numbers are made once for all its records.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from ingestctl.local.template import create_resources
from session_ingest.adapters.aws import client, reset_clients
from session_ingest.envelope import IngestEnvelope
from session_ingest.observability import logger
from session_ingest.settings import get_settings
from tests.support.consumer import (
    EVENT_ID,
    FakeLambdaContext,
    at,
    deliver,
    locations,
    make_envelope,
    queue_request,
    sqs_event,
    sqs_record,
)

UPDATE_TARGET = 4
CREATE_TARGET = 5
BATCH_TARGET = 1.5  # AWS calls per record for a full SQS batch through the handler (contract §6, batches)
SQS_BATCH_SIZE = 10


class CallCounter:
    """Counts API calls made through the service's boto3 clients while `active`, and the time spent in
    them (so the consumer's own time can be told apart from the emulator's)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.active = False
        self.aws_seconds = 0.0
        self._started = 0.0

    def before(self, model: Any, **_: Any) -> None:
        self._started = time.perf_counter()
        if self.active:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def after(self, **_: Any) -> None:
        self.aws_seconds += time.perf_counter() - self._started

    def install(self) -> None:
        for service in ("dynamodb", "sqs"):
            client(service).meta.events.register("before-call", self.before)
            client(service).meta.events.register("after-call", self.after)

    @contextlib.contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        self.calls = Counter()
        self.active = True
        try:
            yield self.calls
        finally:
            self.active = False


@dataclass(frozen=True)
class PathFigure:
    name: str
    records: int
    calls: Counter[str]
    target: int

    @property
    def per_record(self) -> float:
        return sum(self.calls.values()) / self.records


def _environment() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SessionIngest")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)


def _stack() -> None:
    created = create_resources(boto3.client("dynamodb"), boto3.client("sqs"))
    os.environ.update(created.environment())
    reset_clients()
    get_settings.cache_clear()


def _measure(
    counter: CallCounter, name: str, target: int, envelopes: list[IngestEnvelope], expect: str
) -> PathFigure:
    for envelope in envelopes:
        queue_request(envelope)
    with counter.counting() as calls:
        for envelope in envelopes:
            result = deliver(envelope)
            if result.status.value != expect:
                raise RuntimeError(f"{name}: expected {expect}, got {result.status.value}")
    return PathFigure(name, len(envelopes), Counter(calls), target)


def _paths(counter: CallCounter, records: int) -> list[PathFigure]:
    location = locations().create("acme", EVENT_ID, "Hall A", at(0))
    return [
        _measure(
            counter,
            "create, with organisation uid",
            CREATE_TARGET,
            [make_envelope({"organisation_uid": f"bench-{i}", "name": f"s{i}"}) for i in range(records)],
            "created",
        ),
        _measure(
            counter,
            "create, no match keys",
            CREATE_TARGET,
            [make_envelope({"name": f"plain {i}"}) for i in range(records)],
            "created",
        ),
        _measure(
            counter,
            "create, resource id not found + location",
            CREATE_TARGET,
            [
                make_envelope(
                    {
                        "resource_id": "acme/session/999999",
                        "organisation_uid": f"lost-{i}",
                        "location_resource_id": "1",
                    }
                )
                for i in range(records)
            ],
            "created",
        ),
        _measure(
            counter,
            "update by organisation uid",
            UPDATE_TARGET,
            [
                make_envelope({"organisation_uid": f"bench-{i}", "name": f"u{i}"}, accepted_at=at(1))
                for i in range(records)
            ],
            "updated",
        ),
        _measure(
            counter,
            "update by resource id",
            UPDATE_TARGET,
            [
                make_envelope({"resource_id": str(i + 1), "code": f"C{i}"}, accepted_at=at(2))
                for i in range(records)
            ],
            "updated",
        ),
        _measure(
            counter,
            "update by uid + location",
            UPDATE_TARGET,
            [
                make_envelope(
                    {"organisation_uid": f"bench-{i}", "location_resource_id": location["resource_id"]},
                    accepted_at=at(3),
                )
                for i in range(records)
            ],
            "updated",
        ),
        _measure(
            counter,
            "update by resource id changing the uid",
            UPDATE_TARGET,
            [
                make_envelope(
                    {"resource_id": str(i + 1), "organisation_uid": f"renamed-{i}"}, accepted_at=at(4)
                )
                for i in range(records)
            ],
            "updated",
        ),
    ]


def _batch_paths(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]], counter: CallCounter
) -> list[PathFigure]:
    """Full SQS batches through the handler: 10 creates with new uids, then 10 updates by those uids."""
    creates = [
        make_envelope({"organisation_uid": f"batch-{i}", "name": f"b{i}"}) for i in range(SQS_BATCH_SIZE)
    ]
    updates = [
        make_envelope({"organisation_uid": f"batch-{i}", "name": f"c{i}"}, accepted_at=at(1))
        for i in range(SQS_BATCH_SIZE)
    ]
    figures = []
    for name, envelopes in (
        ("batch of 10 creates with uid", creates),
        ("batch of 10 updates by uid", updates),
    ):
        for envelope in envelopes:
            queue_request(envelope)
        event = sqs_event(*(sqs_record(e.model_dump_json(), e.request_id) for e in envelopes))
        with counter.counting() as calls, contextlib.redirect_stdout(io.StringIO()):
            response = handler(event, FakeLambdaContext())
        if response["batchItemFailures"]:
            raise RuntimeError(f"{name}: failures {response}")
        figures.append(PathFigure(name, len(envelopes), Counter(calls), 0))
    return figures


@dataclass(frozen=True)
class Throughput:
    rates: list[float]  # records/s per batch, end to end
    own_ms_per_record: float  # handler time outside AWS calls (the consumer's own code)
    aws_ms_per_record: float  # time inside AWS calls (here: moto in-process)


def _throughput(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]], counter: CallCounter, batches: int
) -> Throughput:
    """Records/s per 10-record batch (half creates, half updates of sessions created in the batch)."""
    rates = []
    handler_seconds = aws_seconds = 0.0
    for batch in range(batches):
        envelopes = [
            make_envelope({"organisation_uid": f"tp-{batch}-{i % 5}", "name": f"n{i}"}, accepted_at=at(i))
            for i in range(10)
        ]
        for envelope in envelopes:
            queue_request(envelope)
        event = sqs_event(*(sqs_record(e.model_dump_json(), e.request_id) for e in envelopes))
        counter.aws_seconds = 0.0
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            response = handler(event, FakeLambdaContext())
        elapsed = time.perf_counter() - started
        if response["batchItemFailures"]:
            raise RuntimeError(f"batch {batch} had failures: {response}")
        rates.append(len(envelopes) / elapsed)
        handler_seconds += elapsed
        aws_seconds += counter.aws_seconds
    records = batches * 10
    return Throughput(rates, (handler_seconds - aws_seconds) * 1000 / records, aws_seconds * 1000 / records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20, help="records per path for the call counts")
    parser.add_argument("--batches", type=int, default=20, help="10-record batches for the throughput")
    args = parser.parse_args()
    _environment()
    logger.setLevel("WARNING")
    from ingest_consumer_handler import lambda_handler  # after the environment is set

    with mock_aws():
        _stack()
        counter = CallCounter()
        counter.install()
        with contextlib.redirect_stdout(io.StringIO()):
            figures = _paths(counter, args.records)
    with mock_aws():
        _stack()
        counter = CallCounter()
        counter.install()
        batch_figures = _batch_paths(lambda_handler, counter)
    with mock_aws():  # fresh, small tables: moto copies whole tables on every transaction
        _stack()
        counter = CallCounter()
        counter.install()
        throughput = _throughput(lambda_handler, counter, args.batches)

    print("AWS calls per processed record (moto in-process; botocore before-call hook)")
    print(f"{'path':<42} {'calls/record':>12} {'target':>7}  breakdown")
    failed = False
    for figure in figures:
        within = figure.per_record <= figure.target
        failed |= not within
        breakdown = ", ".join(f"{op} {n / figure.records:g}" for op, n in sorted(figure.calls.items()))
        mark = "ok" if within else "OVER"
        target = f"<= {figure.target}"
        print(f"{figure.name:<42} {figure.per_record:>12.2f} {target:>7}  {mark}: {breakdown}")
    print()
    print(f"Full SQS batches through lambda_handler (target <= {BATCH_TARGET} calls per record)")
    for figure in batch_figures:
        within = figure.per_record <= BATCH_TARGET
        failed |= not within
        breakdown = ", ".join(f"{op} {n}" for op, n in sorted(figure.calls.items()))
        mark = "ok" if within else "OVER"
        target = f"<= {BATCH_TARGET}"
        print(f"{figure.name:<42} {figure.per_record:>12.2f} {target:>7}  {mark}: {breakdown}")
    print()
    rates = throughput.rates
    print(f"Throughput through lambda_handler, {args.batches} batches of 10 (half creates, half updates):")
    print(
        f"  records/s median {statistics.median(rates):.1f}, min {min(rates):.1f}, max {max(rates):.1f}"
        " (moto in-process; figures vary with the machine's load)"
    )
    print(
        f"  per record: {throughput.own_ms_per_record:.1f} ms in the consumer's own code, "
        f"{throughput.aws_ms_per_record:.1f} ms inside AWS calls (moto)"
    )
    if failed:
        raise SystemExit("a path is over its call target")


if __name__ == "__main__":
    main()
