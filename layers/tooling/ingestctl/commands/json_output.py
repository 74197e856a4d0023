"""JSON on stdout, errors on stderr with a non-zero exit: the contract of every ingestctl command."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer


def emit(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
