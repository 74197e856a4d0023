"""Start `ingestctl local up` as a child process and wait for its ready line (e2e tests, benchmarks)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from unittest import mock

import boto3

from ingestctl.local.stack import DUMMY_CREDENTIALS
from ingestctl.resources import STACK_OUTPUTS, configure
from session_ingest.adapters.aws import reset_clients
from session_ingest.settings import get_settings

# Above the environments' own init timeout (runtime.STARTUP_TIMEOUT_SECONDS): a slow start is waited for.
READY_TIMEOUT_SECONDS = 300.0
# A clean stop finishes the batches in hand and a 2 s long poll; generous, for a loaded machine.
STOP_TIMEOUT_SECONDS = 180.0


class LocalStackProcess:
    """A running `ingestctl local up`; its stderr (the logs) goes to `log_path`."""

    def __init__(self, args: list[str], log_path: Path, region: str = "us-east-1") -> None:
        self.region = region
        self.log_path = log_path
        self.ready: dict[str, str] = {}
        self.instructions: list[str] = []
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
            [sys.executable, "-m", "ingestctl", "local", "up", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "AWS_DEFAULT_REGION": region, "AWS_REGION": region, **DUMMY_CREDENTIALS},
        )
        self._ready_event = threading.Event()
        threading.Thread(target=self._read_stdout, args=(self.process.stdout,), daemon=True).start()

    def _read_stdout(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            if not self.ready and line.startswith("{"):
                self.ready = json.loads(line)
                self._ready_event.set()
            else:
                self.instructions.append(line.rstrip("\n"))
        self._ready_event.set()  # stdout closed: the process ended

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> dict[str, str]:
        if not self._ready_event.wait(timeout) or not self.ready:
            self.stop()
            tail = self.log_path.read_text(encoding="utf-8")[-4000:]
            raise RuntimeError(f"local stack not ready (exit code {self.process.poll()}); log tail:\n{tail}")
        return self.ready

    def aws_environment(self) -> dict[str, str]:
        """What `local up` tells a user to export for ingestctl."""
        return {
            "AWS_ENDPOINT_URL": self.ready["aws_endpoint_url"],
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, service: str) -> Any:
        return boto3.session.Session(
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.region,
        ).client(service, endpoint_url=self.ready["aws_endpoint_url"])

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """SIGTERM, as a user's Ctrl-C or a service manager would; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


@contextlib.contextmanager
def service_pointed_at(stack: LocalStackProcess) -> Iterator[None]:
    """Run this process's service code (cached settings and clients) against the stack for a while."""
    with mock.patch.dict(os.environ, stack.aws_environment()):
        for name in STACK_OUTPUTS.values():
            os.environ.pop(name, None)
        configure()
        try:
            yield
        finally:
            reset_clients()
            get_settings.cache_clear()
