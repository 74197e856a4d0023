"""Lambda execution environments for one function: a pool of worker processes, one invocation each at a time.

Why processes, not threads: a Lambda environment runs one invocation at a time in its own interpreter,
with its own environment variables; Powertools' Logger and Metrics keep per-invocation state in
process-wide objects, so concurrent invocations in one interpreter would mix correlation ids and
metrics. A pool of N workers behaves like N warm environments (reserved concurrency N); separate
processes also let the handlers use the second core while moto uses the first.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import IO, Any

from ingestctl.local.functions import FunctionSpec
from ingestctl.local.logs import LogRouter

# Variables a Lambda environment inherits from nowhere: only these pass from the stack's own environment.
_INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
# An environment's init (imports, the handler module): a second or two here, but a stack starts several
# at once and a loaded machine can be many times slower; a wait, so generous.
STARTUP_TIMEOUT_SECONDS = 180.0


class WorkerStartupError(RuntimeError):
    """A function could not be initialised (e.g. its handler module failed to import)."""


@dataclass(frozen=True)
class InvocationError(Exception):
    """An invocation that did not return a result: the runtime's `errorType` and `errorMessage`."""

    error_type: str
    message: str

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}"


@dataclass(frozen=True)
class Invocation:
    result: Any
    duration_ms: float
    max_rss_kib: int


def lambda_environment(
    spec: FunctionSpec, function_variables: dict[str, str], aws: dict[str, str], base: dict[str, str]
) -> dict[str, str]:
    """The environment of the function's process: what Lambda sets, the template's variables, AWS access."""
    inherited = {name: base[name] for name in _INHERITED_VARIABLES if name in base}
    return {
        **inherited,
        "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_seconds),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.logical_id}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        # No X-Ray daemon locally (`sam local` disables tracing the same way).
        "POWERTOOLS_TRACE_DISABLED": "true",
        **function_variables,
        # Last: the stack's moto, whatever the template declares (its AWS_ENDPOINT_URL is empty).
        **aws,
    }


class _Worker:
    """One worker process and the socket its invocations travel on."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], router: LogRouter) -> None:
        parent_end, child_end = socket.socketpair()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "ingestctl.local.worker", str(child_end.fileno())],
            cwd=spec.code_dir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=[child_end.fileno()],
            text=True,
            # Own process group: Ctrl-C reaches the stack, which then stops its workers in order.
            start_new_session=True,
        )
        child_end.close()
        self.connection = Connection(parent_end.detach())
        for stream in (self.process.stdout, self.process.stderr):
            threading.Thread(
                target=self._forward, args=(stream, spec.logical_id, router), daemon=True
            ).start()

    @staticmethod
    def _forward(stream: IO[str] | None, function: str, router: LogRouter) -> None:
        assert stream is not None
        for line in stream:
            router.function_output(function, line)

    def wait_ready(self) -> None:
        if not self.connection.poll(STARTUP_TIMEOUT_SECONDS):
            self.kill()
            raise WorkerStartupError(f"no answer within {STARTUP_TIMEOUT_SECONDS:.0f} s")
        try:
            reply = json.loads(self.connection.recv_bytes())
        except EOFError:
            raise WorkerStartupError(f"exited with code {self.process.wait()}") from None
        if not reply.get("ready"):
            error = reply["error"]
            raise WorkerStartupError(f"{error['errorType']}: {error['errorMessage']}")

    def stop(self) -> None:
        """Close the socket (the worker exits on EOF), then make sure it is gone."""
        self.connection.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class FunctionPool:
    """`size` warm environments of one function; `invoke` blocks until one is free."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], size: int, router: LogRouter) -> None:
        self.spec = spec
        self._environment = environment
        self._size = size
        self._router = router
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self.peak_memory_kib = 0
        self.invocations = 0
        self.replaced = 0  # environments lost (crash, timeout) and replaced, as Lambda does

    @property
    def size(self) -> int:
        return self._size

    def start(self) -> None:
        """Start every environment (their init phases run in parallel) and wait until all are ready."""
        workers = [self._spawn() for _ in range(self._size)]
        try:
            for worker in workers:
                worker.wait_ready()
        except WorkerStartupError as exc:
            self.stop()
            raise WorkerStartupError(f"{self.spec.logical_id} failed to initialise: {exc}") from exc
        for worker in workers:
            self._idle.put(worker)

    def _spawn(self) -> _Worker:
        worker = _Worker(self.spec, self._environment, self._router)
        with self._lock:
            self._all.append(worker)
        return worker

    def invoke(self, event: dict[str, Any], invoked_function_arn: str) -> Invocation:
        """Run one invocation; raises InvocationError for a handler error, a crash or a timeout."""
        worker = self._idle.get()
        try:
            if worker is None:  # an environment that could not be replaced earlier: try again now
                worker = self._spawn_ready()
            return self._invoke_on(worker, event, invoked_function_arn)
        except _WorkerLost as lost:
            lost.worker.kill()
            self._forget(lost.worker)
            with self._lock:
                self.replaced += 1
            worker = None
            with contextlib.suppress(InvocationError):  # logged; the next invocation tries again
                worker = self._spawn_ready()
            raise lost.error from None
        finally:
            self._idle.put(worker)

    def _spawn_ready(self) -> _Worker:
        """A fresh environment (Lambda's next cold start); InvocationError (logged) if it cannot start."""
        worker = self._spawn()
        try:
            worker.wait_ready()
        except WorkerStartupError as exc:
            self._forget(worker)
            self._router.stack(f"{self.spec.logical_id} failed to initialise: {exc}")
            raise InvocationError("Runtime.InitError", str(exc)) from exc
        return worker

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def _invoke_on(self, worker: _Worker, event: dict[str, Any], invoked_function_arn: str) -> Invocation:
        timeout = self.spec.timeout_seconds
        invocation = {
            "event": event,
            "request_id": str(uuid.uuid4()),
            "deadline_epoch_ms": int((time.time() + timeout) * 1000),
            "invoked_function_arn": invoked_function_arn,
        }
        started = time.monotonic()
        worker.connection.send_bytes(json.dumps(invocation).encode())
        if not worker.connection.poll(timeout):
            elapsed = time.monotonic() - started
            raise _WorkerLost(
                worker, InvocationError("Sandbox.Timedout", f"Task timed out after {elapsed:.2f} seconds")
            )
        try:
            reply = json.loads(worker.connection.recv_bytes())
        except EOFError:
            code = worker.process.wait()
            raise _WorkerLost(
                worker, InvocationError("Runtime.ExitError", f"exited with code {code}")
            ) from None
        with self._lock:
            self.invocations += 1
            self.peak_memory_kib = max(self.peak_memory_kib, int(reply["max_rss_kib"]))
        if not reply["ok"]:
            error = reply["error"]
            raise InvocationError(error["errorType"], error["errorMessage"])
        return Invocation(reply["result"], float(reply["duration_ms"]), int(reply["max_rss_kib"]))

    def stop(self) -> None:
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.stop()


class _WorkerLost(Exception):
    """The environment is unusable after this invocation (timed out or crashed) and must be replaced."""

    def __init__(self, worker: _Worker, error: InvocationError) -> None:
        super().__init__(str(error))
        self.worker = worker
        self.error = error
