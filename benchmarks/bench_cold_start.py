"""Cold start of each built function under python3.13 against a boto3-only baseline (`make bench-cold-start`).

Every measurement is a fresh `python3.13 -I -S -B` process (ingestctl/local/artifact.py): sys.path is the
function's build directory, the built layer and the runtime-SDK stand-in, as Lambda orders them, and no
bytecode is written back (Lambda's /var/task and /opt are read-only). It imports the handler and
handles one real event; AWS calls go to a moto server on loopback, so the calls really happen.

Two references, each replaying the calls the real function made for one event:
- baseline (benchmarks/lambda_handlers/baseline_handler.py): plain boto3 on the runtime's SDK (the layer
  ships no botocore of its own: tests/integration/test_sam_artifact.py);
- two floors, the same calls made through the libraries DESIGN chose, from the built layer, with no code
  of ours: the settings floor (lambda_handlers/settings_floor.py: Powertools' Logger and Metrics and one
  pydantic settings model) and the library floor (lambda_handlers/library_floor_*.py: those plus the
  REST resolver or the batch utility). `untraced - library floor` is what the service's own code adds.

Printed: the median of BENCH_RUNS processes (default 7) of import, first invocation and their sum, the
ratio to the baseline (target <= 1.25), the time spent in the garbage collector's collections (timed by
gc.callbacks: steady from run to run, where wall time is not) and each function's peak RSS (target
<= 160 MB). Wall time is the target's measure; the process's CPU time is printed beside it, because on a
loaded machine it varies far less than wall time. Each untraced process (and the before build's, with
BENCH_BEFORE_BUILD_DIR: another build measured in the same rounds) then makes BENCH_WARM (10) warm
invocations with new events; their median is Lambda's warm path, in a process that holds only the
function. Every other round runs in reverse order. Besides `untraced`, two more variants:
- traced: the environment Lambda's active tracing sets (a sampled trace header, the X-Ray daemon
  address). The code loads no X-Ray SDK, so this is the untraced code path; it shows nothing changes.
- restored: SnapStart's case. The handler is imported and primed and the after-restore hooks run (the
  `snapshot_restore_py` stand-in, ingestctl/local/runtime_stand_in), then the clock starts: its total is the
  first invocation of a restored instance (the restore itself is Lambda's and not measured here).
"""

from __future__ import annotations

import functools
import json
import os
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from ingestctl.local.artifact import (
    HOST_BUILD_DIR,
    RUNTIME_SDK_DIR,
    SNAPSHOT_RESTORE_STAND_IN_DIR,
    BuiltFunction,
    built_functions,
    run_isolated,
)
from ingestctl.local.moto_server import MotoServer
from ingestctl.local.template import CreatedResources, create_resources

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
# Another build of the same template can be measured, e.g. one without precompiled bytecode.
BUILD_DIR = Path(os.environ.get("BENCH_BUILD_DIR", HOST_BUILD_DIR))
# Another build (e.g. of an earlier commit, `make sam-build-x86_64` in a worktree) whose untraced cold start
# is measured in the same rounds, interleaved: a before/after from one run, against the same baseline.
BEFORE_BUILD_DIR = os.environ.get("BENCH_BEFORE_BUILD_DIR")
BEFORE = "untraced, before build"
# Warm invocations after the first, in each untraced process (of both builds): Lambda's warm path, in a
# process holding only the function (bench-accept and bench-consumer run moto in theirs).
WARM_INVOCATIONS = int(os.environ.get("BENCH_WARM", "10"))
WARM_VARIANTS = ("untraced", BEFORE)
TARGET_RATIO = 1.25
TARGET_RSS_MB = 160
# The baseline and the library floors: top-level modules, as Lambda imports a handler.
HANDLERS_DIR = Path(__file__).resolve().parent / "lambda_handlers"
MEMORY_SIZE_MB = "512"
# Each function's floors, cheapest first: label -> module in HANDLERS_DIR (each module says what it is).
FLOORS = {
    "IngestApiFunction": {"settings floor": "settings_floor", "library floor": "library_floor_api"},
    "IngestConsumerFunction": {"settings floor": "settings_floor", "library floor": "library_floor_consumer"},
}
LIBRARY_FLOOR = "library floor"
# How each function is measured besides the baseline (the module docstring says what each means).
VARIANTS: dict[str, dict[str, bool]] = {
    "untraced": {},
    "traced": {"traced": True},
    "restored": {"restored": True},
}

# Runs in the isolated python3.13. Times from before the handler's import to after its first reply.
CHILD = """
import json, os, time, types
started, started_cpu = time.perf_counter(), time.process_time()
def peak_rss_mb():
    # VmHWM, not ru_maxrss: ru_maxrss survives fork+exec, so it reports the (larger) parent's size.
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
spec = json.loads(os.environ["BENCH_SPEC"])
import gc
in_gc = {"ms": 0.0, "since": 0.0}
def time_collections(phase, info):  # the cyclic garbage collector's own time, import and invocation
    if phase == "start":
        in_gc["since"] = time.perf_counter()
    else:
        in_gc["ms"] += (time.perf_counter() - in_gc["since"]) * 1000
gc.callbacks.append(time_collections)
calls = []
if spec["record"]:
    import botocore.client
    original = botocore.client.BaseClient._make_api_call
    def recording(self, operation, params):
        calls.append([self.meta.service_model.service_name, operation, params])
        return original(self, operation, params)
    botocore.client.BaseClient._make_api_call = recording
    started, started_cpu = time.perf_counter(), time.process_time()
import importlib
handler = getattr(importlib.import_module(spec["module"]), spec["attribute"])
if spec.get("restored"):
    import snapshot_restore_py
    snapshot_restore_py.snapshot_and_restore()  # priming, then the after-restore hooks
    started, started_cpu = time.perf_counter(), time.process_time()  # a restored instance paid for none of it
imported = time.perf_counter()
arn = "arn:aws:lambda:eu-west-1:123456789012:function:" + spec["name"]
context = types.SimpleNamespace(function_name=spec["name"], function_version="$LATEST",
    memory_limit_in_mb=512, invoked_function_arn=arn, aws_request_id="bench",
    get_remaining_time_in_millis=lambda: 10000)
reply = handler(json.loads(spec["event"]), context)
answered, answered_cpu = time.perf_counter(), time.process_time()
warm_ms, cold_gc_ms = [], in_gc["ms"]
for warm_event in spec.get("warm_events", []):  # then warm invocations of the same instance
    warm_started = time.perf_counter()
    warm_reply = handler(json.loads(warm_event), context)
    warm_ms.append((time.perf_counter() - warm_started) * 1000)
    assert warm_reply.get("statusCode", warm_reply) == reply.get("statusCode", reply), warm_reply
print("BENCH " + json.dumps({
    "import_ms": (imported - started) * 1000, "invoke_ms": (answered - imported) * 1000,
    "cpu_ms": (answered_cpu - started_cpu) * 1000,
    "peak_rss_mb": peak_rss_mb(), "gc_ms": cold_gc_ms,
    "warm_ms": sorted(warm_ms)[len(warm_ms) // 2] if warm_ms else None,
    "warm_gc_ms": (in_gc["ms"] - cold_gc_ms) / len(warm_ms) if warm_ms else None,
    "reply": reply, "calls": calls}, default=str))
"""


@dataclass(frozen=True)
class Run:
    import_ms: float
    invoke_ms: float
    cpu_ms: float  # the process's CPU time over both: steadier than wall time on a loaded machine
    peak_rss_mb: float
    gc_ms: float  # of which in the cyclic garbage collector: deterministic enough to compare builds
    warm_ms: float | None = None  # median warm invocation of the same process, when it made some
    warm_gc_ms: float | None = None  # the collector's time per warm invocation

    @property
    def total_ms(self) -> float:
        return self.import_ms + self.invoke_ms


@functools.cache
def _xray_daemon_address() -> str:
    """A loopback UDP port that is ours for the whole run and that nothing reads: segments are dropped."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    _XRAY_SINKS.append(sink)  # held open: no one else can take the port while the functions send to it
    host, port = sink.getsockname()
    return f"{host}:{port}"


_XRAY_SINKS: list[socket.socket] = []


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on loopback, in its own process, on the port the OS gives (the functions reach
    it over HTTP)."""
    log_dir = Path(tempfile.mkdtemp(prefix="bench-cold-start-"))
    server = MotoServer("127.0.0.1", 0, lambda port: log_dir / f"moto-{port}.log")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _aws_environment(url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }


def _lambda_environment(function: BuiltFunction, traced: bool) -> dict[str, str]:
    environment = {
        **function.environment,
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": MEMORY_SIZE_MB,
    }
    if traced:
        # What Lambda sets with Tracing: Active. Segments go to a UDP port on loopback nobody reads.
        environment.update(
            POWERTOOLS_TRACE_DISABLED="false",
            _X_AMZN_TRACE_ID=f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1",
            AWS_XRAY_DAEMON_ADDRESS=_xray_daemon_address(),
            AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
        )
    return environment


def _run(sys_path: list[str], spec: dict[str, Any], environment: dict[str, str]) -> dict[str, Any]:
    result = run_isolated(sys_path, CHILD, {**environment, "BENCH_SPEC": json.dumps(spec)})
    line = next((line for line in result.stdout.splitlines() if line.startswith("BENCH ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"{spec['name']} failed:\n{result.stderr[-3000:]}")
    measured: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
    return measured


class Bench:
    """The built functions, their events and their baselines, against one moto server."""

    def __init__(self, url: str, created: CreatedResources) -> None:
        names = {**created.tables, "IngestQueue": created.queue_urls["IngestQueue"]}
        self.functions = built_functions(BUILD_DIR, resource_names=names)
        self.before = (
            built_functions(Path(BEFORE_BUILD_DIR), resource_names=names) if BEFORE_BUILD_DIR else {}
        )
        self.aws = _aws_environment(url)

    def real(
        self,
        name: str,
        event: dict[str, Any],
        *,
        traced: bool = False,
        restored: bool = False,
        record: bool = False,
        before: bool = False,
        warm_events: Sequence[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """One cold start of function `name` answering `event` (of the before build, with `before`), then
        one warm invocation of the same instance per `warm_events`."""
        function = (self.before if before else self.functions)[name]
        spec = {
            "name": name,
            "module": function.module,
            "attribute": function.attribute,
            "event": json.dumps(event),
            "record": record,
            "restored": restored,
            "warm_events": [json.dumps(warm) for warm in warm_events],
        }
        # The runtime provides `snapshot_restore_py` beside its SDK; the stand-in does here.
        sys_path = [*function.sys_path(), str(SNAPSHOT_RESTORE_STAND_IN_DIR)]
        return _run(sys_path, spec, {**_lambda_environment(function, traced), **self.aws})

    def baseline(self, name: str, calls: list[Any]) -> dict[str, Any]:
        """The boto3-only handler on the runtime's SDK, making the calls the real function made."""
        return self._replay(name, "baseline_handler", {}, calls, with_layer=False)

    def floor(self, name: str, module: str, event: dict[str, Any], calls: list[Any]) -> dict[str, Any]:
        """The same calls through the chosen libraries alone (the built layer's), answering `event`."""
        return self._replay(name, module, event, calls, with_layer=True)

    def _replay(
        self, name: str, module: str, event: dict[str, Any], calls: list[Any], *, with_layer: bool
    ) -> dict[str, Any]:
        """One cold start of a reference handler (HANDLERS_DIR) replaying `calls` for function `name`."""
        spec = {
            "name": f"{name}{module}",
            "module": module,
            "attribute": "lambda_handler",
            "event": json.dumps(event),
            "record": False,
        }
        environment = {**self.aws, "BASELINE_CALLS": json.dumps(calls)}
        layers = [str(layer) for layer in self.functions[name].layer_dirs] if with_layer else []
        return _run([str(HANDLERS_DIR), *layers, str(RUNTIME_SDK_DIR)], spec, environment)


def _api_event(endpoint_id: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway REST proxy event for `POST /api/webhook/ingest/{endpoint_id}`."""
    path = f"/api/webhook/ingest/{endpoint_id}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return {
        "resource": "/api/webhook/ingest/{endpoint_id}",
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"endpoint_id": endpoint_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/api/webhook/ingest/{endpoint_id}",
            "httpMethod": "POST",
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "bench",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "bench"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _api_events(endpoint_id: str, token: str, count: int) -> list[dict[str, Any]]:
    return [
        _api_event(
            endpoint_id,
            token,
            {
                "session": {
                    "name": f"Session {n}",
                    "organisation_uid": f"bench-{n}",
                    "start_time": "2026-06-14 09:00:00",
                    "active": "yes",
                }
            },
        )
        for n in range(count)
    ]


def _queued_sqs_events(queue_url: str, count: int, skip: set[str]) -> list[dict[str, Any]]:
    """One SQS event per request the API queued and no event has carried yet (each a new session).

    The baseline and the floors replay the recorded SendMessage, so the queue also holds copies of the
    recorded request: a copy would reach the consumer's already-processed path, so each request id is
    taken once and those in `skip` (already handed out) not at all. The ids taken are added to `skip`.
    """
    from tests.support.consumer import sqs_event, sqs_record

    sqs = boto3.client("sqs")
    events: list[dict[str, Any]] = []
    while len(events) < count:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=900
        ).get("Messages", [])
        if not messages:
            raise RuntimeError(f"only {len(events)} of {count} requests were queued")
        for message in messages:
            request_id = message["MessageAttributes"]["request_id"]["StringValue"]
            if request_id not in skip:
                skip.add(request_id)
                events.append(sqs_event(sqs_record(message["Body"], request_id, message["MessageId"])))
    return events[:count]


def _summary(runs: list[Run]) -> dict[str, float]:
    return {
        "import_ms": statistics.median(r.import_ms for r in runs),
        "invoke_ms": statistics.median(r.invoke_ms for r in runs),
        "total_ms": statistics.median(r.total_ms for r in runs),
        "cpu_ms": statistics.median(r.cpu_ms for r in runs),
        "peak_rss_mb": max(r.peak_rss_mb for r in runs),
        "gc_ms": statistics.median(r.gc_ms for r in runs),
    }


def _warm_summary(runs: list[Run]) -> tuple[float, float]:
    """Over the runs' warm invocations: the median of their median times, and of their collector time."""
    return (
        statistics.median(r.warm_ms for r in runs if r.warm_ms is not None),
        statistics.median(r.warm_gc_ms for r in runs if r.warm_gc_ms is not None),
    )


def _as_run(measured: dict[str, Any]) -> Run:
    return Run(
        measured["import_ms"],
        measured["invoke_ms"],
        measured["cpu_ms"],
        measured["peak_rss_mb"],
        measured["gc_ms"],
        measured["warm_ms"],
        measured["warm_gc_ms"],
    )


def _answered_200(reply: dict[str, Any]) -> bool:
    return reply.get("statusCode") == 200


def _no_failures(reply: dict[str, Any]) -> bool:
    """A consumer's reply with no failed record (the settings floor answers any event with a 200)."""
    return reply == {"batchItemFailures": []} or _answered_200(reply)


def _variants() -> dict[str, dict[str, bool]]:
    """The variants measured in each round: VARIANTS, and the before build's untraced when there is one."""
    return {**VARIANTS, BEFORE: {"before": True}} if BEFORE_BUILD_DIR else VARIANTS


def _warm_variants() -> list[str]:
    return [label for label in _variants() if label in WARM_VARIANTS]


def _events_needed() -> int:
    """Events `_measure` takes: one per variant and one per warm invocation, in each of RUNS rounds (the
    consumer's come from the API's runs, which queue one request per event)."""
    return (len(_variants()) + WARM_INVOCATIONS * len(_warm_variants())) * RUNS


def _measure(
    bench: Bench,
    name: str,
    events: list[dict[str, Any]],
    recorded: dict[str, Any],
    succeeded: Callable[[dict[str, Any]], bool],
    results: dict[str, list[Run]],
) -> None:
    """RUNS rounds of every variant (a new event each), the baseline and each floor of function `name`.

    Every other round runs in the reverse order: a process's place in a round biased its wall time by
    several percent here. The floors answer the recorded event again: they replay its calls and read no
    state of their own.
    """
    calls = recorded["calls"]

    def variant(label: str, options: dict[str, bool]) -> Callable[[], dict[str, Any]]:
        warm = [events.pop() for _ in range(WARM_INVOCATIONS)] if label in WARM_VARIANTS else []
        event = events.pop()
        return lambda: bench.real(
            name,
            event,
            traced=options.get("traced", False),
            restored=options.get("restored", False),
            before=options.get("before", False),
            warm_events=warm,
        )

    def floor(module: str) -> Callable[[], dict[str, Any]]:
        return lambda: bench.floor(name, module, recorded["event"], calls)

    for round_number in range(RUNS):
        jobs = [(label, variant(label, options)) for label, options in _variants().items()]
        jobs.append(("baseline", lambda: bench.baseline(name, calls)))
        jobs.extend((label, floor(module)) for label, module in FLOORS[name].items())
        for label, job in jobs[:: -1 if round_number % 2 else 1]:
            run = job()
            assert label == "baseline" or succeeded(run["reply"]), f"{name} {label}: {run['reply']}"
            results.setdefault(f"{name} {label}", []).append(_as_run(run))


def _recorded(bench: Bench, name: str, event: dict[str, Any]) -> dict[str, Any]:
    """One cold invocation of function `name` with its AWS calls recorded, and the event it answered."""
    return {**bench.real(name, event, record=True), "event": event}


def main() -> None:
    with moto_server() as url:
        os.environ.update(_aws_environment(url))
        created = create_resources(boto3.client("dynamodb"), boto3.client("sqs"))
        os.environ.update(created.environment())
        from ingestctl.admin.endpoints import create_endpoint

        endpoint = create_endpoint("bench", 1, rate_limit_per_minute=100_000)
        bench = Bench(url, created)
        api_events = _api_events(endpoint["endpoint_id"], endpoint["token"], _events_needed() + 1)
        queue_url = created.queue_urls["IngestQueue"]

        # Record the calls of one cold invocation of each function, for the baselines and floors.
        recorded_api = _recorded(bench, "IngestApiFunction", api_events.pop())
        assert recorded_api["reply"]["statusCode"] == 200, recorded_api["reply"]
        handed_out: set[str] = set()
        recorded_consumer = _recorded(
            bench, "IngestConsumerFunction", _queued_sqs_events(queue_url, 1, handed_out)[0]
        )
        assert recorded_consumer["reply"] == {"batchItemFailures": []}, recorded_consumer["reply"]

        results: dict[str, list[Run]] = {}
        _measure(bench, "IngestApiFunction", api_events, recorded_api, _answered_200, results)
        messages = _queued_sqs_events(queue_url, _events_needed(), handed_out)
        _measure(bench, "IngestConsumerFunction", messages, recorded_consumer, _no_failures, results)

    _print(
        results,
        {"IngestApiFunction": recorded_api["calls"], "IngestConsumerFunction": recorded_consumer["calls"]},
    )


def _print(results: dict[str, list[Run]], calls: dict[str, list[Any]]) -> None:
    print(f"cold start under python3.13 of {BUILD_DIR}")
    print(f"median of {RUNS} fresh processes (import + first invocation)")
    print(
        f"{'variant':40} {'import ms':>10} {'invoke ms':>10} {'total ms':>9} {'vs base':>8} "
        f"{'CPU ms':>7} {'vs base':>8} {'GC ms':>6} {'peak MB':>8}"
    )
    verdicts = []
    for name in ("IngestApiFunction", "IngestConsumerFunction"):
        baseline = _summary(results[f"{name} baseline"])
        for variant in ("baseline", *FLOORS[name], *_variants()):
            summary = _summary(results[f"{name} {variant}"])
            ratio = summary["total_ms"] / baseline["total_ms"]
            cpu_ratio = summary["cpu_ms"] / baseline["cpu_ms"]
            print(
                f"{name + ' ' + variant:40} {summary['import_ms']:10.0f} {summary['invoke_ms']:10.0f} "
                f"{summary['total_ms']:9.0f} {ratio:7.2f}x {summary['cpu_ms']:7.0f} {cpu_ratio:7.2f}x "
                f"{summary['gc_ms']:6.1f} {summary['peak_rss_mb']:8.1f}"
            )
            if variant in VARIANTS:
                ok = ratio <= TARGET_RATIO and summary["peak_rss_mb"] <= TARGET_RSS_MB
                verdicts.append(f"{name} {variant}: {'meets' if ok else 'MISSES'} the targets")
        floor = _summary(results[f"{name} {LIBRARY_FLOOR}"])["total_ms"]
        own = _summary(results[f"{name} untraced"])["total_ms"] - floor
        share = own / baseline["total_ms"]
        print(f"  the service's own code: untraced - library floor = {own:.0f} ms, {share:.2f}x the baseline")
        for variant in _warm_variants():
            warm_ms, warm_gc_ms = _warm_summary(results[f"{name} {variant}"])
            print(
                f"  {variant}: then {WARM_INVOCATIONS} warm invocations of the same instance, median "
                f"{warm_ms:.1f} ms, {warm_gc_ms:.2f} ms of it in the collector"
            )
        operations = ", ".join(f"{service}.{operation}" for service, operation, _ in calls[name])
        print(f"  AWS calls ({len(calls[name])}): {operations}")
    print(f"targets: total <= {TARGET_RATIO}x the baseline; peak RSS (VmHWM) <= {TARGET_RSS_MB} MB")
    print("(CPU ms: the function process's CPU time, import + invocation; steadier on a loaded machine.")
    print(" GC ms: of the wall time, the time inside the cyclic garbage collector's collections)")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
