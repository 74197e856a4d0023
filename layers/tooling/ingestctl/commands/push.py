"""`ingestctl push`: send a whole agenda through batch ingest (contract §4b, §9) and report what happened.

The token comes from INGEST_TOKEN or --token-file, never from the command line (argv is visible to every
user of the machine and kept in shell histories). One JSON summary on stdout; exit 0 when every item was
queued (and, with --wait, processed), 1 when any was invalid, failed or is still pending, 2 for bad
input or usage (nothing is sent), 3 when the token or the endpoint is refused.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ingestctl.push_client import (
    BadInput,
    ProgressCallback,
    PushClient,
    make_batches,
    parse_payloads,
    require_http_url,
)
from session_ingest import limits

TOKEN_ENV = "INGEST_TOKEN"  # noqa: S105  # the variable's name, not a token
EXIT_INCOMPLETE = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3

_PHASES = {"send": "queuing", "wait": "processing"}


def push_command(
    source: Annotated[
        str, typer.Argument(metavar="FILE|-", help="A JSON array or NDJSON of payloads, or - for stdin")
    ],
    api_url: Annotated[
        str,
        typer.Option(
            "--api-url",
            envvar="INGEST_API_URL",
            help="The API's base URL: `local up`'s api_url, or the stack's ApiUrl output",
        ),
    ],
    endpoint_id: Annotated[str, typer.Option("--endpoint-id", envvar="INGEST_ENDPOINT_ID")],
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help=f"File holding the token (else ${TOKEN_ENV})")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=limits.MAX_BATCH_ITEMS, help="Payloads per request")
    ] = limits.MAX_BATCH_ITEMS,
    wait: Annotated[bool, typer.Option("--wait", help="Follow every request to its outcome")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="With --wait: give up waiting after this many seconds")
    ] = 120.0,
    key_scope: Annotated[
        str,
        typer.Option(
            "--key-scope",
            help="Mixed into every Idempotency-Key. Keys come from the content, so within 24 h the service "
            "answers a batch it has seen with its first results; a new scope sends it afresh",
        ),
    ] = "",
) -> None:
    """Send payloads in batches, paced by the endpoint's rate limit; print one JSON summary."""
    token = _token(token_file)
    try:
        base_url = require_http_url(api_url)
        payloads = parse_payloads(_read(source))
    except BadInput as error:
        _fail(str(error), EXIT_BAD_INPUT)
    batches = make_batches(payloads, batch_size, key_scope=key_scope)
    with _progress_bar() as progress:
        client = PushClient(base_url, endpoint_id, token, progress=progress)
        outcome = client.push(batches, wait=wait, timeout_seconds=timeout)
    typer.echo(json.dumps(outcome.summary(), indent=2, ensure_ascii=False))
    if outcome.refused is not None:
        _fail(str(outcome.refused), EXIT_REFUSED)
    if outcome.stopped is not None:
        _fail(f"stopped sending: {outcome.stopped}", EXIT_INCOMPLETE)
    if not outcome.complete:
        raise typer.Exit(EXIT_INCOMPLETE)


def _token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            _fail(f"cannot read --token-file {token_file}: {getattr(error, 'strerror', None) or error}", 2)
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        _fail(f"no token: set {TOKEN_ENV} or pass --token-file PATH", EXIT_BAD_INPUT)
    return token


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as error:
        _fail(f"cannot read {source}: {error.strerror or error}", EXIT_BAD_INPUT)


@contextmanager
def _progress_bar() -> Iterator[ProgressCallback]:
    """A rich progress bar on stderr when it is a terminal; otherwise nothing is drawn."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda phase, done, total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        tasks: dict[str, int] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = int(progress.add_task(_PHASES.get(phase, phase), total=total))
            progress.update(tasks[phase], completed=done, total=total)  # type: ignore[arg-type]

        yield update


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"ingestctl push: {message}", err=True)
    raise typer.Exit(code)
