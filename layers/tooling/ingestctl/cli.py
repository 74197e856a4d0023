"""`ingestctl`: the operator CLI (SPEC §9). JSON on stdout, errors on stderr with a non-zero exit."""

from __future__ import annotations

import typer

from ingestctl.commands import local, mapping, queue

app = typer.Typer(
    name="ingestctl",
    help="Operate session ingest: map payloads offline, manage endpoints and tokens, run the local stack.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("map")(mapping.map_command)


@app.callback()
def main() -> None:
    """Session ingest operator CLI."""


app.add_typer(local.app, name="local")
app.add_typer(queue.app, name="queue")
