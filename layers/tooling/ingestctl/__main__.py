"""`python -m ingestctl`: the same CLI as the `ingestctl` entry point."""

from ingestctl.cli import app

app(prog_name="ingestctl")
