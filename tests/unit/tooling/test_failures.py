"""How ingestctl reports an expected failure: which exit code, and always one line (README exit codes)."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)
from typer.testing import CliRunner

from ingestctl.admin.endpoints import ConfigurationConflict, InvalidEndpointSettings, NoSuchEndpoint
from ingestctl.cli import app
from ingestctl.commands.failures import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_NOT_ALLOWED,
    CommandFailed,
    explain,
    one_line,
)
from ingestctl.resources import ResourcesUnknown
from session_ingest.errors import StoreUnavailable

QUERY_FAILED = "AWS Query failed"
AT = {"endpoint_url": "http://x"}


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "details"}}, "Query")


def _store_error(cause: Exception) -> StoreUnavailable:
    """A botocore error as the service's adapters raise it (translated, with the original as cause)."""
    error = StoreUnavailable(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "exit_code", "message_start"),
    [
        pytest.param(_client_error("AccessDeniedException"), EXIT_NOT_ALLOWED, QUERY_FAILED, id="denied"),
        pytest.param(_client_error("ExpiredTokenException"), EXIT_NOT_ALLOWED, QUERY_FAILED, id="expired"),
        pytest.param(_client_error("ResourceNotFoundException"), EXIT_FAILED, QUERY_FAILED, id="no-table"),
        pytest.param(NoCredentialsError(), EXIT_NOT_ALLOWED, "no AWS credentials", id="no-credentials"),
        pytest.param(NoRegionError(), EXIT_BAD_INPUT, "no AWS region", id="no-region"),
        pytest.param(EndpointConnectionError(**AT), EXIT_FAILED, "cannot reach AWS", id="down"),
        pytest.param(
            ReadTimeoutError(**AT),
            EXIT_FAILED,
            "cannot reach AWS at http://x",
            id="timeout",
        ),
        pytest.param(
            InvalidEndpointSettings("invalid mapping: x"), EXIT_BAD_INPUT, "invalid mapping", id="bad"
        ),
        pytest.param(NoSuchEndpoint("no endpoint e"), EXIT_FAILED, "no endpoint e", id="unknown-id"),
        pytest.param(ConfigurationConflict("event 1 belongs"), EXIT_FAILED, "event 1 belongs", id="conflict"),
        pytest.param(ResourcesUnknown("stack s has none"), EXIT_FAILED, "stack s has none", id="no-outputs"),
        pytest.param(CommandFailed("usage", EXIT_BAD_INPUT), EXIT_BAD_INPUT, "usage", id="command-failed"),
        pytest.param(
            _store_error(_client_error("AccessDeniedException")),
            EXIT_NOT_ALLOWED,
            QUERY_FAILED,
            id="store-denied",
        ),
        pytest.param(StoreUnavailable("contention"), EXIT_FAILED, "the store did not take", id="store-busy"),
    ],
)
def test_expected_failures_have_their_documented_exit_code(
    error: BaseException, exit_code: int, message_start: str
) -> None:
    # When an expected failure is explained
    explained = explain(error)
    # Then it has its exit code and a message saying why
    assert explained is not None
    assert explained[1] == exit_code
    assert explained[0].startswith(message_start)


@pytest.mark.parametrize("error", [RuntimeError("bug"), KeyError("x"), ValueError("y")])
def test_anything_else_is_a_bug_and_is_not_explained_away(error: BaseException) -> None:
    # When an unexpected error is explained
    # Then it is not (it keeps its traceback)
    assert explain(error) is None


def test_a_multi_line_message_becomes_one_line() -> None:
    assert one_line("invalid settings\n  rate_limit_per_minute\n    must be >= 1\n") == (
        "invalid settings; rate_limit_per_minute; must be >= 1"
    )


def test_version_prints_the_distribution_version() -> None:
    # When ingestctl is asked for its version
    result = CliRunner().invoke(app, ["--version"])
    # Then it prints it and exits 0
    assert result.exit_code == 0
    assert result.stdout.startswith("ingestctl ")


def test_shell_completion_is_offered() -> None:
    # When the top-level help is shown
    result = CliRunner().invoke(app, ["--help"])
    # Then typer's completion options are there
    assert "--install-completion" in result.stdout
