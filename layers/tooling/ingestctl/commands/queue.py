"""`ingestctl queue …`: the ingest queue seen from outside (contract §9)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any

import typer

from ingestctl.admin.queues import QueueDepth, queue_depth
from ingestctl.commands.failures import fail
from ingestctl.commands.output import StackOption, emit, progress
from ingestctl.resources import configure
from session_ingest.adapters.aws import client

app = typer.Typer(help="Inspect the ingest queue.", no_args_is_help=True)

POLL_INTERVAL_SECONDS = 0.2
# The queue must read empty for this long: a batch being deleted, or a message about to become visible
# again, can make a single reading look empty for an instant.
STABLE_SECONDS = 1.0


def wait_until_drained(
    sqs: Any,
    queue_url: str,
    timeout_seconds: float,
    stable_seconds: float = STABLE_SECONDS,
    on_reading: Callable[[QueueDepth], None] | None = None,
) -> tuple[bool, QueueDepth]:
    """True once the queue has read empty (visible + in flight + delayed = 0) for `stable_seconds`."""
    deadline = time.monotonic() + timeout_seconds
    empty_since: float | None = None
    while True:
        depth = queue_depth(sqs, queue_url)
        if on_reading is not None:
            on_reading(depth)
        now = time.monotonic()
        if depth.empty:
            empty_since = empty_since if empty_since is not None else now
            if now - empty_since >= stable_seconds:
                return True, depth
        else:
            empty_since = None
        if now >= deadline:
            return False, depth
        time.sleep(POLL_INTERVAL_SECONDS)


@app.command("wait")
def wait(
    timeout: Annotated[float, typer.Option(min=0, help="Give up after this many seconds.")] = 60.0,
    stack: StackOption = None,
) -> None:
    """Return when the ingest queue is drained (exit 0), or fail when the timeout passes first."""
    settings = configure(stack)
    started = time.monotonic()
    with progress("waiting for the ingest queue to drain") as (bar, task):

        def show(depth: QueueDepth) -> None:
            bar.update(task, description=f"queue: {depth.visible} visible, {depth.in_flight} in flight")

        drained, depth = wait_until_drained(
            client("sqs"), settings.ingest_queue_url, timeout, on_reading=show
        )
    emit({"drained": drained, "waited_seconds": round(time.monotonic() - started, 2), **asdict(depth)})
    if not drained:
        fail(
            f"the ingest queue still holds {depth.visible} visible and {depth.in_flight} in-flight "
            f"messages after {timeout:g} s"
        )
