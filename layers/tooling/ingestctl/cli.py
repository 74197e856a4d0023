"""`ingestctl`: the operator CLI (SPEC §9). JSON on stdout, errors on stderr with a non-zero exit."""

from __future__ import annotations

import typer

from ingestctl.commands import dlq, endpoints, local, locations, mapping, push, queue, sessions

app = typer.Typer(
    name="ingestctl",
    help="Operate session ingest: map payloads offline, manage endpoints and tokens, run the local stack.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Session ingest operator CLI."""


app.command("map")(mapping.map_command)
app.command("push")(push.push_command)
app.add_typer(endpoints.endpoint_app, name="endpoint")
app.add_typer(endpoints.token_app, name="token")
app.add_typer(endpoints.requests_app, name="requests")
app.add_typer(sessions.app, name="sessions")
app.add_typer(locations.app, name="location")
app.add_typer(dlq.app, name="dlq")
app.add_typer(local.app, name="local")
app.add_typer(queue.app, name="queue")
