"""`ingestctl dlq list|redrive`: inspect and replay messages the consumer gave up on (SPEC §9)."""

from __future__ import annotations

from typing import Annotated

import typer

from ingestctl.commands.json_output import emit, fail
from ingestctl.dead_letters import DeadLetterQueue
from ingestctl.resources import configure

app = typer.Typer(help="Inspect and redrive the dead-letter queue.", no_args_is_help=True)

StackOption = Annotated[
    str | None, typer.Option("--stack", help="Deployed stack to read resource names from.")
]


def _queue(stack: str | None) -> DeadLetterQueue:
    try:
        return DeadLetterQueue(configure(stack))
    except ValueError as error:
        fail(str(error))


@app.command("list")
def list_dead_letters(stack: StackOption = None) -> None:
    """Messages in the DLQ with their request id, recorded reason and outcome (changes nothing)."""
    letters = [letter.as_dict() for letter in _queue(stack).inspect()]
    emit({"count": len(letters), "messages": letters})


@app.command("redrive")
def redrive_dead_letters(stack: StackOption = None) -> None:
    """Move every DLQ message back to the ingest queue (outcomes reset to `queued`)."""
    moved = _queue(stack).redrive()
    emit({"redriven": len(moved), "messages": moved})
