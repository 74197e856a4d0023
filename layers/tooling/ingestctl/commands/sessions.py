"""`ingestctl sessions list|get`: stored sessions (SPEC §9)."""

from __future__ import annotations

from typing import Annotated

import typer

from ingestctl.commands.json_output import emit, fail
from ingestctl.resources import configure
from session_ingest.adapters.sessions_repo import SessionsRepository, public_session

app = typer.Typer(help="Inspect stored sessions.", no_args_is_help=True)

StackOption = Annotated[
    str | None, typer.Option("--stack", help="Deployed stack to read resource names from.")
]


@app.command("list")
def list_sessions(
    event_id: Annotated[int, typer.Option("--event-id", help="The event whose sessions to list.")],
    stack: StackOption = None,
) -> None:
    """Every session of an event: `{"event_id", "count", "sessions": [...]}`."""
    repo = SessionsRepository(configure(stack).sessions_table)
    found = [public_session(values) for values in repo.list_sessions(event_id)]
    for session in found:
        session.pop("field_accepted_at", None)
    emit({"event_id": event_id, "count": len(found), "sessions": found})


@app.command("get")
def get_session(
    resource_id: Annotated[str, typer.Argument(help="The session's resource id, e.g. acme/session/12.")],
    stack: StackOption = None,
) -> None:
    """One session with its per-field accept times, found by resource id."""
    values = SessionsRepository(configure(stack).sessions_table).find_by_resource_id(resource_id)
    if values is None:
        fail(f"no session {resource_id}")
    emit(public_session(values))
