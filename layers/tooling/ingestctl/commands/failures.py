"""How every ingestctl command fails: one line on stderr, a documented exit code, never a traceback.

Exit codes (README, "Operator CLI"):
  0  done
  1  the operation failed or found nothing: unknown id, AWS unreachable or refusing the call, the
     queue not drained in time, a conflicting change, field errors from `map`
  2  bad input or usage: an unreadable or invalid file, an invalid mapping, schema or setting
  3  not allowed: missing or rejected AWS credentials, access denied (and 401/403 for `push`)

Expected failures raised anywhere under a command (botocore's errors, the admin use cases' errors,
`CommandFailed`) are turned into that line by `IngestctlGroup`, the class of every command group, so no
command needs its own try/except for them. Anything else is a bug and keeps its traceback (without local
variables: they may hold a token).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, NoReturn

import typer
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)
from typer.core import TyperGroup

from ingestctl.admin.endpoints import AdminError, InvalidEndpointSettings
from ingestctl.resources import ResourcesUnknown
from session_ingest.errors import StoreError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_ALLOWED = 3

# AWS error codes that mean "who you are, or what you may do", not "what you asked".
_NOT_ALLOWED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)

_command_path: ContextVar[str] = ContextVar("ingestctl_command_path", default="ingestctl")


class CommandFailed(Exception):
    """An expected failure a command reports as one line with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(message: str) -> str:
    return "; ".join(line.strip() for line in message.splitlines() if line.strip()) or "failed"


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print `ingestctl <command>: <message>` on stderr and exit with `code`."""
    typer.echo(f"{_command_path.get()}: {one_line(message)}", err=True)
    raise typer.Exit(code)


def _aws_client_error(error: ClientError) -> tuple[str, int]:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = f"AWS {error.operation_name} failed: {code}: {details.get('Message', '')}".rstrip(": ")
    return message, EXIT_NOT_ALLOWED if code in _NOT_ALLOWED_CODES else EXIT_FAILED


def _botocore_error(error: BotoCoreError) -> tuple[str, int]:
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", (
            EXIT_NOT_ALLOWED
        )
    if isinstance(error, NoRegionError):
        return "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)", EXIT_BAD_INPUT
    unreachable = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
    if isinstance(error, unreachable):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url", "")
        return (
            f"cannot reach AWS at {endpoint} (is AWS_ENDPOINT_URL right, is the local stack running?)",
            EXIT_FAILED,
        )
    return f"AWS call failed: {error}", EXIT_FAILED


def explain(error: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit code of an expected failure; None for anything else (a bug)."""
    if isinstance(error, CommandFailed):
        return str(error), error.exit_code
    if isinstance(error, InvalidEndpointSettings):
        return str(error), EXIT_BAD_INPUT
    if isinstance(error, AdminError | ResourcesUnknown):
        return str(error), EXIT_FAILED
    if isinstance(error, ClientError):
        return _aws_client_error(error)
    if isinstance(error, BotoCoreError):
        return _botocore_error(error)
    if isinstance(error, StoreError):
        # The service's adapters (used by admin commands too) translate botocore's errors: explain the
        # cause when there is one, so a denied call is still exit 3.
        cause = error.__cause__
        if isinstance(cause, ClientError | BotoCoreError):
            return explain(cause)
        return f"the store did not take the change: {error}", EXIT_FAILED
    return None


class IngestctlGroup(TyperGroup):
    """A command group that remembers which command runs and reports its expected failures."""

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            _command_path.set(f"{ctx.command_path} {name}")
        return name, command, rest

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            explained = explain(error)
            if explained is None:
                raise
            fail(*explained)


def command_names(group: Any, prefix: Sequence[str] = ()) -> list[tuple[str, ...]]:
    """Every leaf command of a click group as its argv path, e.g. ("endpoint", "show")."""
    paths: list[tuple[str, ...]] = []
    for name in sorted(group.list_commands(None)):
        command = group.get_command(None, name)
        if command is None or getattr(command, "hidden", False):
            continue
        if hasattr(command, "list_commands"):
            paths.extend(command_names(command, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths
