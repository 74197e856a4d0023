"""`ingestctl`: the operator CLI (contract §9). JSON on stdout, errors on stderr with a non-zero exit.

Every group is an `IngestctlGroup` (commands/failures.py): expected failures become one line on stderr
with a documented exit code. Tracebacks of unexpected errors never show local variables (they may hold
a token), whatever typer's default.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from ingestctl.commands import dashboard, dlq, endpoints, local, locations, mapping, push, queue, sessions
from ingestctl.commands.failures import IngestctlGroup

DISTRIBUTION = "session-ingest"

app = typer.Typer(
    name="ingestctl",
    cls=IngestctlGroup,
    help="Operate session ingest: map payloads offline, manage endpoints and tokens, run the local stack.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _print_version(requested: bool) -> None:
    if requested:
        try:
            typer.echo(f"ingestctl {version(DISTRIBUTION)}")
        except PackageNotFoundError:
            typer.echo("ingestctl (not installed as a distribution)")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Session ingest operator CLI."""


# Root's IngestctlGroup reports failures of every command below; giving each group the class too makes
# the stderr prefix name the full command ("ingestctl endpoint show: …").
app.command("map")(mapping.map_command)
app.command("dashboard")(dashboard.dashboard_command)
app.command("push")(push.push_command)
app.add_typer(endpoints.endpoint_app, name="endpoint", cls=IngestctlGroup)
app.add_typer(endpoints.token_app, name="token", cls=IngestctlGroup)
app.add_typer(endpoints.requests_app, name="requests", cls=IngestctlGroup)
app.add_typer(sessions.app, name="sessions", cls=IngestctlGroup)
app.add_typer(locations.app, name="location", cls=IngestctlGroup)
app.add_typer(dlq.app, name="dlq", cls=IngestctlGroup)
app.add_typer(local.app, name="local", cls=IngestctlGroup)
app.add_typer(queue.app, name="queue", cls=IngestctlGroup)
