"""One Lambda execution environment: loads a function's handler once, then runs one invocation at a time.

Started by `runtime.FunctionPool` as `python -m ingestctl.local.worker FD` with the function's
environment and its CodeUri as working directory (the task root, first on sys.path under `-m`, as on
Lambda). Invocations arrive as JSON on the socket FD; stdout and stderr are the function's log stream,
read by the parent (EMF metric lines included), exactly as Lambda reads them. With INGEST_LOCAL_FAULTS
set (soak tests), faults are injected at the function's AWS calls (`ingestctl.local.faults`); the
function's code is unchanged.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ingestctl.local import faults

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The context object of the Python runtime (awslambdaric), with the same attribute names and types."""

    def __init__(self, aws_request_id: str, deadline_epoch_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = aws_request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        # A string, as in the real runtime (it reads the environment variable).
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_epoch_ms = deadline_epoch_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_epoch_ms - int(time.time() * 1000), 0)


def load_handler(task_root: Path, handler: str) -> Handler:
    """Import `module.function` from the task root, as the Lambda runtime does on cold start."""
    module_name, function_name = handler.rsplit(".", 1)
    module_path = task_root / (module_name.replace(".", "/") + ".py")
    spec = importlib.util.spec_from_file_location(module_name, module_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Unable to import module '{module_name}': no {module_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    function: Handler = getattr(module, function_name)
    return function


def error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """The runtime's error shape (`errorType`, `errorMessage`, `stackTrace`)."""
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def peak_memory_kib() -> int:
    """This environment's peak resident set (what Lambda reports as Max Memory Used).

    On Linux, VmHWM of /proc/self/status: ru_maxrss would also count the stack process's memory at
    fork time (the peak survives exec), so every worker would report at least the parent's size.
    """
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1])  # "VmHWM:   81234 kB"


def invoke(handler: Handler, invocation: dict[str, Any]) -> dict[str, Any]:
    """Run one invocation; a handler exception or an unserialisable result is an error reply."""
    context = LambdaContext(
        invocation["request_id"], invocation["deadline_epoch_ms"], invocation["invoked_function_arn"]
    )
    started = time.perf_counter()
    reply: dict[str, Any]
    try:
        result = handler(invocation["event"], context)
    except Exception as exc:
        # Lambda logs the traceback of an unhandled exception to the function's log stream.
        traceback.print_exc()
        reply = {"ok": False, "error": error_payload(exc)}
    else:
        try:
            reply = {"ok": True, "result": json.loads(json.dumps(result))}
        except (TypeError, ValueError) as exc:
            reply = {"ok": False, "error": error_payload(exc, "Runtime.MarshalError")}
    sys.stdout.flush()
    reply["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    reply["max_rss_kib"] = peak_memory_kib()
    return reply


def main(argv: list[str]) -> int:
    connection = Connection(int(argv[1]))
    started = time.perf_counter()
    try:
        faults.install_from_environment()  # soak tests only: before any AWS client exists
        handler = load_handler(Path(os.environ["LAMBDA_TASK_ROOT"]), os.environ["_HANDLER"])
    except Exception as exc:
        traceback.print_exc()
        connection.send_bytes(json.dumps({"ready": False, "error": error_payload(exc)}).encode())
        return 1
    init_ms = round((time.perf_counter() - started) * 1000, 2)
    connection.send_bytes(json.dumps({"ready": True, "init_ms": init_ms}).encode())
    while True:
        try:
            invocation = json.loads(connection.recv_bytes())
        except EOFError:  # the stack closed the environment
            return 0
        connection.send_bytes(json.dumps(invoke(handler, invocation)).encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
