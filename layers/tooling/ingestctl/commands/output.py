"""How every ingestctl command answers: JSON on stdout (one style), or a rich table behind `--table`.

One JSON style for the whole CLI: pretty-printed, keys sorted (the same document always prints the same
way, so outputs diff cleanly), non-ASCII kept as is. Progress goes to stderr, and only to a terminal,
so stdout stays one parseable document and a script's stderr stays quiet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

StackOption = Annotated[
    str | None, typer.Option("--stack", help="Read resource names from this deployed stack's outputs.")
]
TableOption = Annotated[bool, typer.Option("--table", help="Print a human table instead of JSON.")]


def to_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def emit(document: Any) -> None:
    """The command's result on stdout, as JSON."""
    typer.echo(to_json(document))


def emit_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """The command's result on stdout, as a table for people (`--table`)."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console(soft_wrap=False).print(table)


def _stderr() -> Console:
    return Console(stderr=True)


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[tuple[Progress, Any]]:
    """A progress bar (or a spinner without `total`) on stderr while a long operation runs.

    Yields the Progress and its task id: `bar.update(task, completed=n)`. Nothing is drawn when stderr
    is not a terminal.
    """
    console = _stderr()
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:g}/{task.total:g}" if total is not None else ""),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with bar:
        yield bar, bar.add_task(description, total=total)
