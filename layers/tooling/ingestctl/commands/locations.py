"""`ingestctl location create|list`: the locations sessions may reference (contract §9)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from ingestctl.admin.endpoints import refused_owner
from ingestctl.admin.locations import LocationsRepository
from ingestctl.commands.failures import EXIT_BAD_INPUT, fail
from ingestctl.commands.output import StackOption, TableOption, emit, emit_table
from ingestctl.resources import configure
from session_ingest.adapters.endpoint_store import EventOwnedElsewhere

app = typer.Typer(help="Manage the locations of an event.", no_args_is_help=True)


@app.command("create")
def create_location(
    org: Annotated[str, typer.Option("--org", help="Owning organisation slug, e.g. acme.")],
    event_id: Annotated[int, typer.Option("--event-id", help="The event the location belongs to.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    stack: StackOption = None,
) -> None:
    """Store a location; prints `{"resource_id", "id", "name", "event_id", "organisation", "created_at"}`."""
    if not name.strip():
        fail("--name must not be empty", EXIT_BAD_INPUT)
    settings = configure(stack)
    repo = LocationsRepository(settings.sessions_table, settings.endpoints_table)
    try:
        emit(repo.create(org, event_id, name.strip(), datetime.now(UTC)))
    except EventOwnedElsewhere as error:
        raise refused_owner(error, org) from error


@app.command("list")
def list_locations(
    event_id: Annotated[int, typer.Option("--event-id", help="The event whose locations to list.")],
    stack: StackOption = None,
    table: TableOption = False,
) -> None:
    """Every location of an event."""
    settings = configure(stack)
    repo = LocationsRepository(settings.sessions_table, settings.endpoints_table)
    found = list(repo.list_locations(event_id))
    if table:
        columns = ["resource_id", "name", "organisation", "created_at"]
        emit_table(
            f"event {event_id}: {len(found)} locations",
            columns,
            [[loc.get(c) for c in columns] for loc in found],
        )
        return
    emit({"event_id": event_id, "count": len(found), "locations": found})
