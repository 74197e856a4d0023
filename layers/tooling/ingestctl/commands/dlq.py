"""`ingestctl dlq list|redrive`: inspect and replay messages the consumer gave up on (contract §9)."""

from __future__ import annotations

import typer

from ingestctl.admin.queues import queue_depth
from ingestctl.commands.failures import fail
from ingestctl.commands.output import StackOption, TableOption, emit, emit_table, progress
from ingestctl.dead_letters import DeadLetterQueue
from ingestctl.resources import configure
from session_ingest.adapters.aws import client

app = typer.Typer(help="Inspect and redrive the dead-letter queue.", no_args_is_help=True)


def _queue(stack: str | None) -> DeadLetterQueue:
    try:
        return DeadLetterQueue(configure(stack))
    except ValueError as error:
        fail(str(error))


@app.command("list")
def list_dead_letters(stack: StackOption = None, table: TableOption = False) -> None:
    """Messages in the DLQ with their request id, recorded reason and outcome (changes nothing)."""
    letters = [letter.as_dict() for letter in _queue(stack).inspect()]
    if table:
        columns = ["request_id", "endpoint_id", "receive_count", "sent_at", "outcome_status", "reason"]
        rows = [[letter.get(column) for column in columns] for letter in letters]
        emit_table(f"{len(letters)} dead-lettered messages", columns, rows)
        return
    emit({"count": len(letters), "messages": letters})


@app.command("redrive")
def redrive_dead_letters(stack: StackOption = None) -> None:
    """Move every DLQ message back to the ingest queue (outcomes reset to `queued`)."""
    queue = _queue(stack)
    waiting = queue_depth(client("sqs"), queue.queue_url).visible
    with progress("redriving dead-lettered messages", total=waiting) as (bar, task):
        moved = queue.redrive(on_moved=lambda count: bar.update(task, completed=count))
    emit({"redriven": len(moved), "messages": moved})
