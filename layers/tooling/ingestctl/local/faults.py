"""Fault injection for the local stack's function processes (soak tests), never in the Lambda code.

`ingestctl local up --faults SPEC` (or `INGEST_LOCAL_FAULTS`) gives each worker the faults that apply to
its function; the worker installs them before it loads the handler, as botocore event handlers on every
client the function creates. The function's code runs unchanged and meets the faults where production
code meets them: at its AWS calls.

- `throttle` (every function, DynamoDB): a call answered ProvisionedThroughputExceededException or
  ThrottlingException, each retry throttled again with probability `throttle_repeat` (a hot partition);
  botocore's retries absorb most, the rest reach the function's code.
- `record_error` (SQS-fed functions, at a record's commit, TransactWriteItems): an exception before the
  write; the record fails and SQS redelivers it.
- `record_error_after_commit` (same place): an exception after the write succeeded; the record is stored
  but reported failed, so its redelivery must change nothing.
- `worker_kill_every` (same place): SIGKILL of the worker right after its N-th commit (each new worker
  counts afresh), mid-batch; the stack replaces the environment and the whole batch comes back after the
  visibility timeout, its committed records included.
- `poison` (same place): every commit whose request holds this text raises; the message reaches the DLQ
  with its reason.
- `delay_send` (API functions, SQS SendMessage): the message is sent with DelaySeconds
  1..`max_delay_seconds`, so it arrives after newer ones.
- `duplicate_send` (same place): the message is sent a second time (after 0..`max_delay_seconds` s), as
  an at-least-once queue may deliver it.
- `send_error` (same place, and SendMessageBatch): SQS answers 503 to every attempt of the call (an
  outage longer than botocore's retries); the API must answer 5xx and record the request as not queued.
- `partial_send` (API functions, SQS SendMessageBatch): SQS takes only the first half of the call's
  entries (rounded up) and reports the others failed, as it may under load; the batch route must answer
  503 with those items to retry, and the retry must queue only them.

Fractions are per call, spread evenly (`EvenSpread`): the k-th fault of a kind falls at a random call
within the k-th run of 1/fraction calls, so a process making n calls injects about n x fraction of them
whatever the draws, and at least one once n reaches 1/fraction. A coin per call would, in a run of a few
hundred calls, sometimes inject none at all, and a soak that injected nothing proves nothing about that
fault. Throttling keeps a coin per call (its streaks are the point, and it meets thousands of calls).
`worker_kill_every` is a count, so every run kills. Each injected fault is appended to `log` (one JSON
line; several workers share the file) so a soak can count what it survived.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from botocore import handlers
from botocore.awsrequest import AWSResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

FAULTS_VARIABLE = "INGEST_LOCAL_FAULTS"
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]

_THROTTLE_ERRORS = (
    ("ProvisionedThroughputExceededException", "com.amazonaws.dynamodb.v20120810#"),
    ("ThrottlingException", "com.amazon.coral.availability#"),
)
_COMMIT = "TransactWriteItems"
_REQUEST_ID = re.compile(rb"REQUEST#([0-9a-fA-F-]{36})")
_ATTEMPT = re.compile(r"attempt=(\d+)")
_MAX_ATTEMPTS = re.compile(r"max=(\d+)")
_TRACKED_CALLS = 10_000  # throttled calls whose next attempt is still to be decided


class InvalidFaultSpec(ValueError):
    """`--faults` / INGEST_LOCAL_FAULTS does not describe a fault plan."""


class InjectedFault(RuntimeError):
    """The exception a function meets where the plan says its code raises."""


class FaultPlan(BaseModel):
    """Which faults to inject, how often (fractions of calls) and where to record them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    throttle: Fraction = 0.0
    throttle_repeat: Fraction = 0.5
    record_error: Fraction = 0.0
    record_error_after_commit: Fraction = 0.0
    worker_kill_every: int = Field(default=0, ge=0)
    poison: str | None = Field(default=None, min_length=1)
    delay_send: Fraction = 0.0
    duplicate_send: Fraction = 0.0
    send_error: Fraction = 0.0
    partial_send: Fraction = 0.0
    max_delay_seconds: int = Field(default=3, ge=1, le=900)
    seed: int | None = None
    log: Path | None = None

    @property
    def active(self) -> bool:
        return any(
            (
                self.throttle,
                self.record_error,
                self.record_error_after_commit,
                self.worker_kill_every,
                self.poison,
                self.delay_send,
                self.duplicate_send,
                self.send_error,
                self.partial_send,
            )
        )

    def for_function(self, *, sqs_fed: bool, api: bool) -> FaultPlan:
        """The part of the plan that applies to a function with these event sources."""
        changes: dict[str, Any] = {}
        if not sqs_fed:
            changes |= {"record_error": 0.0, "record_error_after_commit": 0.0, "worker_kill_every": 0}
            changes |= {"poison": None}
        if not api:
            changes |= {"delay_send": 0.0, "duplicate_send": 0.0, "send_error": 0.0, "partial_send": 0.0}
        return self.model_copy(update=changes)

    def describe(self) -> str:
        """A one-line summary for the stack's log."""
        values = self.model_dump(exclude_defaults=True, exclude={"log", "seed"})
        return ", ".join(f"{name}={value}" for name, value in values.items()) or "none"


def parse_fault_plan(text: str) -> FaultPlan:
    """A plan from JSON (`{"throttle": 0.05}`) or `name=value` pairs (`throttle=0.05,record_error=0.02`)."""
    text = text.strip()
    try:
        if text.startswith("{"):
            return FaultPlan.model_validate_json(text)
        pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise InvalidFaultSpec(f"expected name=value pairs separated by commas, got {text!r}")
        return FaultPlan.model_validate({name.strip(): value.strip() for name, value in pairs})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'spec'}: {e['msg']}" for e in error.errors())
        raise InvalidFaultSpec(problems) from error


class FaultLog:
    """Appends one JSON line per injected fault; unbuffered, so a line survives its worker's SIGKILL."""

    def __init__(self, path: Path | None, function: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if path else None
        self._function = function

    def record(self, kind: str, **details: Any) -> None:
        if self._fd is None:
            return
        entry = {"kind": kind, "function": self._function, "pid": os.getpid(), "at": time.time(), **details}
        os.write(self._fd, (json.dumps(entry, default=str) + "\n").encode())


def read_fault_log(path: Path) -> Iterator[dict[str, Any]]:
    """The entries of a fault log (a torn last line of a killed writer is skipped)."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                yield json.loads(line)
            except ValueError:
                continue


class _RawBody:
    """The `raw` of an AWSResponse: botocore reads the body through `stream()`."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _header(request: Any, name: str) -> str:
    value = request.headers.get(name, b"")
    return value.decode() if isinstance(value, bytes) else str(value)


def _attempt_of(request: Any) -> tuple[str, int, int]:
    """The call a request belongs to (botocore's invocation id), its attempt and the attempts allowed."""
    retry = _header(request, "amz-sdk-request")
    attempt = int(m.group(1)) if (m := _ATTEMPT.search(retry)) else 1
    max_attempts = int(m.group(1)) if (m := _MAX_ATTEMPTS.search(retry)) else 1
    return _header(request, "amz-sdk-invocation-id"), attempt, max_attempts


def _request_id(body: Any) -> str | None:
    raw = body.encode() if isinstance(body, str) else bytes(body or b"")
    found = _REQUEST_ID.search(raw)
    return found.group(1).decode() if found else None


class EvenSpread:
    """Picks `fraction` of the calls it is asked about: the k-th pick at a random call of [k, k+1)/fraction.

    Not thread-safe on its own: the injector asks under its lock.
    """

    def __init__(self, fraction: float, rng: random.Random) -> None:
        self._fraction = fraction
        self._rng = rng
        self._calls = 0
        self._picks = 0
        self._next_pick_at = self._draw()

    def _draw(self) -> float:
        return (self._picks + self._rng.random()) / self._fraction if self._fraction > 0 else float("inf")

    def picks(self) -> bool:
        """Whether this call is one of the picked ones (a pick falling on a call already picked, as
        neighbouring picks may, moves to the next call: the count stays n x fraction)."""
        self._calls += 1
        if self._next_pick_at >= self._calls:
            return False
        self._picks += 1
        self._next_pick_at = self._draw()
        return True


class FaultInjector:
    """The botocore event handlers of one plan in one function process."""

    def __init__(
        self,
        plan: FaultPlan,
        log: FaultLog,
        rng: random.Random,
        kill: Callable[[], None] | None = None,
        sqs_client: Callable[[], Any] | None = None,
    ) -> None:
        self.plan = plan
        self.log = log
        self._rng = rng
        self._lock = threading.Lock()
        self._throttled_calls: OrderedDict[str, None] = OrderedDict()
        self._failing_sends: OrderedDict[str, None] = OrderedDict()
        self._kill = kill or (lambda: os.kill(os.getpid(), signal.SIGKILL))
        self._sqs_client = sqs_client or _default_sqs_client
        self._own_call = threading.local()  # set while the injector makes its own AWS call
        self._commits = 0
        spread = (
            "record_error",
            "record_error_after_commit",
            "delay_send",
            "duplicate_send",
            "send_error",
            "partial_send",
        )
        self._spreads = {kind: EvenSpread(getattr(plan, kind), rng) for kind in spread}

    def _in_own_call(self) -> bool:
        """True while the injector sends a duplicate: its own call meets no fault."""
        return bool(getattr(self._own_call, "active", False))

    def _picks(self, kind: str) -> bool:
        with self._lock:
            return self._spreads[kind].picks()

    def handlers(self) -> list[tuple[str, Callable[..., Any]]]:
        """(event name, handler) pairs for the faults the plan enables."""
        plan = self.plan
        pairs: list[tuple[str, Callable[..., Any]]] = []
        if plan.throttle:
            pairs.append(("before-send.dynamodb", self.throttle))
        if plan.record_error or plan.poison:
            pairs.append((f"before-call.dynamodb.{_COMMIT}", self.before_commit))
        if plan.record_error_after_commit or plan.worker_kill_every:
            pairs.append((f"after-call.dynamodb.{_COMMIT}", self.after_commit))
        if plan.delay_send or plan.duplicate_send:
            pairs.append(("before-parameter-build.sqs.SendMessage", self.before_send_message))
        if plan.duplicate_send:
            pairs.append(("after-call.sqs.SendMessage", self.after_send_message))
        if plan.send_error:
            pairs.append(("before-send.sqs.SendMessage", self.send_outage))
            pairs.append(("before-send.sqs.SendMessageBatch", self.send_outage))
        if plan.partial_send:
            pairs.append(("before-parameter-build.sqs.SendMessageBatch", self.before_send_batch))
            pairs.append(("after-call.sqs.SendMessageBatch", self.after_send_batch))
        return pairs

    # -- DynamoDB throttling ------------------------------------------------------------------------------

    def throttle(self, request: Any, **_: Any) -> AWSResponse | None:
        """before-send: a throttling error instead of the HTTP call, for a run of attempts of one call."""
        if self._in_own_call():
            return None
        invocation, attempt, max_attempts = _attempt_of(request)
        with self._lock:
            continuing = invocation in self._throttled_calls
            fraction = self.plan.throttle_repeat if continuing else self.plan.throttle
            throttled = self._rng.random() < fraction if (continuing or attempt == 1) else False
            if throttled and invocation and attempt < max_attempts:
                self._throttled_calls[invocation] = None
                while len(self._throttled_calls) > _TRACKED_CALLS:
                    self._throttled_calls.popitem(last=False)
            else:
                self._throttled_calls.pop(invocation, None)
            code, prefix = self._rng.choice(_THROTTLE_ERRORS)
        if not throttled:
            return None
        operation = _header(request, "X-Amz-Target").rpartition(".")[2]
        exhausted = attempt >= max_attempts
        self.log.record(
            "throttle", operation=operation, attempt=attempt, max_attempts=max_attempts, exhausted=exhausted
        )
        body = json.dumps({"__type": prefix + code, "message": "Injected by the local stack (soak)"})
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, _RawBody(body.encode()))

    def send_outage(self, request: Any, **_: Any) -> AWSResponse | None:
        """before-send SendMessage: a 503 for every attempt of a call picked on its first attempt."""
        if self._in_own_call():
            return None
        invocation, attempt, max_attempts = _attempt_of(request)
        with self._lock:
            if attempt == 1 and self._spreads["send_error"].picks():
                self._failing_sends[invocation] = None
                while len(self._failing_sends) > _TRACKED_CALLS:
                    self._failing_sends.popitem(last=False)
            failing = invocation in self._failing_sends
            if failing and attempt >= max_attempts:
                del self._failing_sends[invocation]
        if not failing:
            return None
        if attempt >= max_attempts:
            self.log.record("send_error", attempts=attempt)
        body = json.dumps({"__type": "com.amazonaws.sqs#ServiceUnavailable", "message": "Injected (soak)"})
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 503, headers, _RawBody(body.encode()))

    # -- the consumer's commit ----------------------------------------------------------------------------

    def before_commit(self, params: dict[str, Any], **_: Any) -> None:
        """before-call TransactWriteItems: raise instead of writing (poison records always)."""
        body = params.get("body", b"")
        request_id = _request_id(body)
        raw = body.encode() if isinstance(body, str) else bytes(body or b"")
        if self.plan.poison and self.plan.poison.encode() in raw:
            self.log.record("poison", request_id=request_id)
            raise InjectedFault(f"poison record ({self.plan.poison!r})")
        if self._picks("record_error"):
            self.log.record("record_error", request_id=request_id)
            raise InjectedFault("record error before commit")

    def after_commit(self, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        """after-call TransactWriteItems: once the write is in, kill the worker or raise."""
        if "Error" in parsed or getattr(http_response, "status_code", 200) >= 300:
            return
        self._commits += 1
        if self.plan.worker_kill_every and self._commits % self.plan.worker_kill_every == 0:
            self.log.record("worker_kill", commits=self._commits)
            self._kill()
        if self._picks("record_error_after_commit"):
            self.log.record("record_error_after_commit")
            raise InjectedFault("record error after commit")

    # -- the API's SendMessage ----------------------------------------------------------------------------

    def before_send_message(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """before-parameter-build SendMessage: maybe delay the message; keep the params for a duplicate."""
        if self._in_own_call():
            return
        if self._picks("delay_send"):
            with self._lock:
                params["DelaySeconds"] = self._rng.randint(1, self.plan.max_delay_seconds)
            self.log.record("delay_send", delay_seconds=params["DelaySeconds"], request_id=_attribute(params))
        context["fault_send_params"] = dict(params)

    def after_send_message(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """after-call SendMessage: send the same message once more, now or a little later."""
        params = context.get("fault_send_params")
        if params is None or "Error" in parsed or self._in_own_call():
            return
        if not self._picks("duplicate_send"):
            return
        with self._lock:
            delay = self._rng.randint(0, self.plan.max_delay_seconds)
        self._own_call.active = True
        try:
            self._sqs_client().send_message(**{**params, "DelaySeconds": delay})
        except Exception as error:  # the duplicate is ours: its failure must not fail the API's send
            self.log.record("duplicate_send_failed", reason=str(error), request_id=_attribute(params))
            return
        finally:
            self._own_call.active = False
        self.log.record("duplicate_send", delay_seconds=delay, request_id=_attribute(params))

    # -- the API's SendMessageBatch -----------------------------------------------------------------------

    def before_send_batch(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """before-parameter-build SendMessageBatch: keep back the later half of the entries."""
        entries = list(params.get("Entries") or [])
        if self._in_own_call() or len(entries) < 2 or not self._picks("partial_send"):
            return
        kept = (len(entries) + 1) // 2
        params["Entries"], context["fault_withheld"] = entries[:kept], entries[kept:]
        self.log.record("partial_send", sent=kept, withheld=[_attribute(entry) for entry in entries[kept:]])

    def after_send_batch(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """after-call SendMessageBatch: report the withheld entries failed, as SQS reports what it refused."""
        withheld = context.get("fault_withheld") or []
        if withheld and "Error" not in parsed:
            failed = [
                {"Id": entry["Id"], "SenderFault": False, "Code": "ServiceUnavailable", "Message": "Injected"}
                for entry in withheld
            ]
            parsed["Failed"] = [*parsed.get("Failed", []), *failed]


def _attribute(params: dict[str, Any]) -> str | None:
    value = (params.get("MessageAttributes") or {}).get("request_id") or {}
    return value.get("StringValue")


@functools.cache
def _default_sqs_client() -> Any:
    """The injector's own SQS client (the function's environment gives it the endpoint and region)."""
    import boto3
    from botocore.config import Config

    return boto3.client("sqs", config=Config(retries={"mode": "standard", "max_attempts": 1}, read_timeout=5))


def install(plan: FaultPlan, function: str) -> FaultInjector | None:
    """Register the plan's handlers for every botocore session created from now on in this process."""
    if not plan.active:
        return None
    seed = plan.seed if plan.seed is None else plan.seed + os.getpid()
    injector = FaultInjector(plan, FaultLog(plan.log, function), random.Random(seed))
    handlers.BUILTIN_HANDLERS.extend(injector.handlers())
    return injector


def install_from_environment(environ: dict[str, str] | os._Environ[str] = os.environ) -> FaultInjector | None:
    """What a worker calls before loading its handler: the plan in INGEST_LOCAL_FAULTS, if any."""
    text = environ.get(FAULTS_VARIABLE)
    if not text:
        return None
    return install(parse_fault_plan(text), environ.get("AWS_LAMBDA_FUNCTION_NAME", "function"))
