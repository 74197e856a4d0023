"""e2e fixtures: local stacks on loopback ports the OS gives (port 0), driven over real HTTP.

`machinery` runs the local stack in-process on a small fixture template (tests of the emulation
itself); `stack` runs `ingestctl local up` as a subprocess on the real template.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ingestctl.local.launcher import LocalStackProcess
from ingestctl.local.stack import LocalStack, StackOptions
from session_ingest import limits
from tests.support.secret_guard import GUARD

FIXTURE_TEMPLATE = Path(__file__).parent / "local_stack_fixture" / "template.yaml"
T = TypeVar("T")


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, list[str]]
    body: bytes
    json: Any = field(default=None)

    def header(self, name: str) -> str | None:
        values = next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)
        return values[-1] if values else None


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> HttpAnswer:
    """One real HTTP call; any status is an answer (no exception for 4xx/5xx)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw_headers, payload = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, raw_headers, payload = error.code, error.headers, error.read()
    collected: dict[str, list[str]] = {}
    for name, value in raw_headers.items():
        collected.setdefault(name, []).append(value)
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = None
    return HttpAnswer(status, collected, payload, parsed)


# Generous: a healthy pipeline answers in a second or two, a loaded CI machine can be many times slower,
# and waiting longer costs nothing when the condition is met.
EVENTUALLY_TIMEOUT_SECONDS = 120.0


def eventually(
    probe: Callable[[], T | None], timeout: float = EVENTUALLY_TIMEOUT_SECONDS, interval: float = 0.2
) -> T:
    """The first truthy result of `probe`, polling an asynchronous pipeline until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {result!r})")
        time.sleep(interval)


# Room enough for a handful of requests on a loaded machine (each takes well under a second there).
RATE_WINDOW_ROOM_SECONDS = 15.0


def with_room_in_the_rate_window(room_seconds: float = RATE_WINDOW_ROOM_SECONDS) -> None:
    """Return once the current rate-limit window has at least `room_seconds` left.

    Windows are whole minutes of the wall clock, which the stack's functions share with this process;
    a test counting requests against a limit must not straddle two windows, or the count restarts.
    """
    window = limits.RATE_WINDOW_SECONDS
    left = window - time.time() % window
    if left < room_seconds:
        time.sleep(left + 0.1)  # into the next window, which has all its room left


@pytest.fixture(scope="module")
def machinery() -> Iterator[LocalStack]:
    """The local stack on the fixture template, with a 1 s visibility timeout so redrive takes seconds.

    Module scope: it runs in this process, and its pollers must be stopped before other tests of the
    same worker run (they would make AWS calls beside those tests: under `mock_aws`, into its backend).
    """
    options = StackOptions(
        port=0,  # bound by the stack itself: no port can be lost to another worker in between
        aws_port=0,
        region="eu-west-1",
        template=FIXTURE_TEMPLATE,
        visibility_timeout=1,
        api_concurrency=1,
        consumer_concurrency=1,
    )
    stack = LocalStack(options)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    """`ingestctl local up` on the repository's template, as a user runs it, with a 1 s visibility timeout
    so a poison message reaches the dead-letter queue in seconds (5 receives) instead of 15 minutes."""
    log_path = tmp_path_factory.mktemp("local-stack") / "local-up.log"
    # Port 0: the stack binds what the OS gives and its ready line names the real URLs.
    args = ["--port", "0", "--aws-port", "0", "--visibility-timeout", "1"]
    process = LocalStackProcess(args, log_path, region="eu-west-1")
    GUARD.watch(log_path)  # the functions' logs must never hold a token either
    process.wait_ready()
    GUARD.register(process.ready["token"])
    yield process
    exit_code = process.stop()
    assert exit_code == 0, f"local up exited with {exit_code}; log: {log_path}"
