"""Every ingestctl command fails the same way when AWS cannot be reached: one line on stderr naming the
command, a non-zero exit, no traceback (contract §9; README, "Operator CLI", exit codes).

The commands are enumerated from the typer app itself, so a command added later fails this test until
its arguments are listed in ARGUMENTS below.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import typer.main
from botocore.config import Config
from typer.testing import CliRunner

from ingestctl.cli import app
from ingestctl.commands.failures import EXIT_FAILED, command_names
from session_ingest.adapters import aws as aws_clients

SOME_ID = str(uuid.uuid4())
# Arguments that get each command past its own usage checks, so that it reaches AWS.
ARGUMENTS: dict[tuple[str, ...], list[str]] = {
    ("dashboard",): ["--minutes", "5"],
    ("dlq", "list"): [],
    ("dlq", "redrive"): [],
    ("endpoint", "create"): ["--org", "acme", "--event-id", "1"],
    ("endpoint", "disable"): [SOME_ID],
    ("endpoint", "enable"): [SOME_ID],
    ("endpoint", "list"): [],
    ("endpoint", "show"): [SOME_ID],
    ("endpoint", "update"): [SOME_ID, "--rate-limit", "5"],
    ("location", "create"): ["--org", "acme", "--event-id", "1", "--name", "Hall A"],
    ("location", "list"): ["--event-id", "1"],
    ("queue", "wait"): ["--timeout", "1"],
    ("requests", "get"): [SOME_ID],
    ("requests", "list"): ["--endpoint-id", SOME_ID, "--status", "failed"],
    ("sessions", "find"): ["--event-id", "1", "--uid", "U-1"],
    ("sessions", "get"): ["acme/session/1"],
    ("sessions", "list"): ["--event-id", "1"],
    ("token", "create"): [SOME_ID],
    ("token", "revoke"): [uuid.uuid4().hex],
}
# Commands that never call the AWS endpoint the operator points at.
NOT_AWS = {
    ("map",): "maps a payload offline",
    ("local", "up"): "starts its own moto server",
    ("push",): "talks to the ingest API over HTTP, not to AWS (tests/unit/tooling push tests)",
    ("local", "seed-samples"): "refuses to run without AWS_ENDPOINT_URL (test_sam_local_env.py)",
}


def _commands() -> list[tuple[str, ...]]:
    return command_names(typer.main.get_command(app))


@pytest.fixture
def stopped_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """AWS_ENDPOINT_URL on a loopback port nobody listens on; one attempt per call, short timeouts."""
    # Bound but never listening: connections are refused, and no other test's server can take the port
    # meanwhile (a port merely found free could be).
    reserved = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reserved.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{reserved.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    for name in (
        "ENDPOINTS_TABLE",
        "REQUESTS_TABLE",
        "SESSIONS_TABLE",
        "INGEST_QUEUE_URL",
        "DEAD_LETTER_QUEUE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    fast = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1, read_timeout=1)
    monkeypatch.setattr(aws_clients, "BOTO_CONFIG", fast)
    aws_clients.reset_clients()
    yield url
    aws_clients.reset_clients()
    reserved.close()


def test_every_command_is_listed_here_with_arguments_or_as_not_calling_aws() -> None:
    # Given the commands the app registers
    # When they are compared with this test's tables
    unlisted = [path for path in _commands() if path not in ARGUMENTS and path not in NOT_AWS]
    # Then each one is covered (add a new command's arguments to ARGUMENTS)
    assert unlisted == []
    assert set(ARGUMENTS) <= set(_commands())


@pytest.mark.parametrize("with_stack", [False, True], ids=["environment", "stack-lookup"])
@pytest.mark.parametrize("path", sorted(ARGUMENTS), ids=" ".join)
def test_a_command_against_stopped_aws_fails_in_one_line_without_a_traceback(
    stopped_aws: str, path: tuple[str, ...], with_stack: bool
) -> None:
    # Given AWS that does not answer
    # When the command runs (resource names from the environment's defaults, or from `--stack`)
    argv = [*path, *ARGUMENTS[path], *(["--stack", "ingest-prod"] if with_stack else [])]
    result = CliRunner().invoke(app, argv)
    # Then it exits non-zero with one line on stderr that names the command and the endpoint
    assert result.exit_code == EXIT_FAILED, (result.exit_code, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ingestctl {' '.join(path)}: cannot reach AWS at {stopped_aws}")
    assert "Traceback" not in result.output
    # And nothing was printed on stdout but what a command prints before its first call
    assert result.stdout.strip() == ""


def test_the_installed_command_prints_no_traceback_against_stopped_aws(stopped_aws: str) -> None:
    # Given the real entry point in its own process (typer's pretty exceptions, if any, would show here)
    environment = {**os.environ, "AWS_MAX_ATTEMPTS": "1"}
    # When a command that reads DynamoDB runs against AWS that does not answer
    finished = subprocess.run(
        [sys.executable, "-m", "ingestctl", "sessions", "list", "--event-id", "1"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    # Then the process exits 1 with one line on stderr
    assert finished.returncode == EXIT_FAILED
    assert finished.stderr.strip().count("\n") == 0, finished.stderr
    assert finished.stderr.startswith("ingestctl sessions list: cannot reach AWS")
    assert "Traceback" not in finished.stderr
