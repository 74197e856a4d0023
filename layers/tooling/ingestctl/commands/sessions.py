"""`ingestctl sessions list|get|find`: stored sessions (contract §9)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ingestctl.admin.sessions import find_uid_holders
from ingestctl.commands.failures import fail
from ingestctl.commands.output import StackOption, TableOption, emit, emit_table
from ingestctl.resources import configure
from session_ingest.adapters.sessions_repo import SessionsRepository, public_session

app = typer.Typer(help="Inspect stored sessions.", no_args_is_help=True)

EventOption = Annotated[int, typer.Option("--event-id", help="The event whose sessions to read.")]
_COLUMNS = ["resource_id", "organisation_uid", "name", "start_time", "active", "version", "updated_at"]


def _session_rows(sessions: list[dict[str, Any]]) -> list[list[Any]]:
    return [[session.get(column) for column in _COLUMNS] for session in sessions]


@app.command("list")
def list_sessions(event_id: EventOption, stack: StackOption = None, table: TableOption = False) -> None:
    """Every session of an event: `{"event_id", "count", "sessions": [...]}`."""
    repo = SessionsRepository(configure(stack).sessions_table)
    found = [public_session(values) for values in repo.list_sessions(event_id)]
    for session in found:
        session.pop("field_accepted_at", None)
    if table:
        emit_table(f"event {event_id}: {len(found)} sessions", _COLUMNS, _session_rows(found))
        return
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


@app.command("find")
def find_sessions(
    event_id: EventOption,
    uid: Annotated[str, typer.Option("--uid", help="The organisation uid the integrator sends.")],
    stack: StackOption = None,
    table: TableOption = False,
) -> None:
    """Every session of the event holding an organisation uid, duplicates included (through the
    OrganisationUidIndex GSI): `{"event_id", "organisation_uid", "count", "matched_by_uid", "sessions"}`.

    `matched_by_uid` is the holder a payload carrying only this uid updates. Finding none is not an error.
    """
    holders = find_uid_holders(configure(stack).sessions_table, event_id, uid)
    if table:
        title = f"event {event_id}, uid {uid!r}: {len(holders.sessions)} sessions"
        title += f" (uid-only payloads update {holders.matched_by_uid})" if holders.matched_by_uid else ""
        emit_table(title, _COLUMNS, _session_rows(holders.sessions))
        return
    emit(holders.as_dict())
