"""`ingestctl location create|list`: the locations sessions may reference (SPEC §9)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from ingestctl.admin.locations import LocationsRepository
from ingestctl.commands.json_output import emit, fail
from ingestctl.resources import configure

app = typer.Typer(help="Manage the locations of an event.", no_args_is_help=True)

StackOption = Annotated[
    str | None, typer.Option("--stack", help="Deployed stack to read resource names from.")
]


@app.command("create")
def create_location(
    org: Annotated[str, typer.Option("--org", help="Owning organisation slug, e.g. acme.")],
    event_id: Annotated[int, typer.Option("--event-id", help="The event the location belongs to.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    stack: StackOption = None,
) -> None:
    """Store a location; prints `{"resource_id", "id", "name", "event_id", "organisation", "created_at"}`."""
    if not name.strip():
        fail("--name must not be empty")
    repo = LocationsRepository(configure(stack).sessions_table)
    emit(repo.create(org, event_id, name.strip(), datetime.now(UTC)))


@app.command("list")
def list_locations(
    event_id: Annotated[int, typer.Option("--event-id", help="The event whose locations to list.")],
    stack: StackOption = None,
) -> None:
    """Every location of an event."""
    found = list(LocationsRepository(configure(stack).sessions_table).list_locations(event_id))
    emit({"event_id": event_id, "count": len(found), "locations": found})
