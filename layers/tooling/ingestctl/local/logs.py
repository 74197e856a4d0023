"""The terminal side of the functions' log streams: readable lines on stderr, EMF lines to CloudWatch.

Each worker's stdout/stderr is read line by line. Powertools JSON log records are shown as
`time LEVEL function message key=value…` (exceptions in full), other lines as they are.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any

from ingestctl.local.emf import is_emf

# Powertools' standard keys, shown in the line's frame rather than repeated as key=value.
_FRAME_KEYS = {
    "level",
    "message",
    "timestamp",
    "service",
    "location",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "exception",
    "exception_name",
    "stack_trace",
    "sampling_rate",
}


def _short(function: str) -> str:
    return function.removesuffix("Function")


def format_record(function: str, record: dict[str, Any]) -> str:
    """One readable line (plus the exception, if any) for a Powertools JSON log record."""
    now = datetime.now().strftime("%H:%M:%S.%f")[:-3]
    level = str(record.get("level", "INFO"))
    message = record.get("message")
    text = message if isinstance(message, str) else json.dumps(message, default=str)
    extras = " ".join(
        f"{key}={json.dumps(value, default=str)}" for key, value in record.items() if key not in _FRAME_KEYS
    )
    line = f"{now} {level:<7} {_short(function):<14} {text}" + (f"  {extras}" if extras else "")
    if record.get("exception"):
        line += "\n" + str(record["exception"])
    return line


class LogRouter:
    """Serialises every writer's lines onto one stream; sends EMF documents to `on_metrics`."""

    def __init__(
        self, stream: IO[str] | None = None, on_metrics: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self._stream = stream or sys.stderr
        self._on_metrics = on_metrics
        self._lock = threading.Lock()

    def set_metrics_sink(self, on_metrics: Callable[[dict[str, Any]], None]) -> None:
        self._on_metrics = on_metrics

    def write(self, text: str) -> None:
        with self._lock:
            self._stream.write(text.rstrip("\n") + "\n")
            self._stream.flush()

    def stack(self, message: str) -> None:
        """A message of the local stack itself."""
        now = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        self.write(f"{now} {'INFO':<7} {'local-stack':<14} {message}")

    def function_output(self, function: str, line: str) -> None:
        """One line a function printed."""
        stripped = line.strip()
        if not stripped:
            return
        document: Any = None
        if stripped.startswith("{"):
            try:
                document = json.loads(stripped)
            except ValueError:
                document = None
        if is_emf(document):
            if self._on_metrics is not None:
                self._on_metrics(document)
            return
        if isinstance(document, dict) and "level" in document:
            self.write(format_record(function, document))
        else:
            self.write(f"{'':12} {'':<7} {_short(function):<14} {line.rstrip()}")
