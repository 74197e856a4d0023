"""`ingestctl endpoint …`, `ingestctl token …` and `ingestctl requests get` (SPEC §9), over boto3.

Resource names come from the environment, `--stack NAME`'s outputs, or the local stack's defaults
(`ingestctl.resources.configure`), so with only AWS_ENDPOINT_URL set every command reaches
`ingestctl local up`. JSON on stdout; errors on stderr with exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from botocore.exceptions import BotoCoreError, ClientError

from ingestctl.admin import endpoints
from ingestctl.resources import configure
from session_ingest.domain.json_body import parse_json_body
from session_ingest.errors import MalformedJson
from session_ingest.service.request_outcomes import describe_request

EXIT_FAILED = 1

endpoint_app = typer.Typer(
    help="Create, show, list, enable and disable ingest endpoints.", no_args_is_help=True
)
token_app = typer.Typer(help="Issue and revoke endpoint tokens (rotation).", no_args_is_help=True)
requests_app = typer.Typer(help="Inspect accepted requests.", no_args_is_help=True)

StackOption = Annotated[
    str | None, typer.Option("--stack", help="Read resource names from this deployed stack's outputs")
]


def _emit(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _fail(command: str, message: str) -> NoReturn:
    typer.echo(f"ingestctl {command}: {message}", err=True)
    raise typer.Exit(EXIT_FAILED)


@contextmanager
def _operating(command: str, stack: str | None) -> Iterator[None]:
    """Resolve resources, then turn every expected failure into one line on stderr and exit 1."""
    try:
        configure(stack)
        yield
    except endpoints.AdminError as error:
        _fail(command, str(error))
    except ClientError as error:
        _fail(
            command,
            f"AWS error {error.response['Error']['Code']}: {error.response['Error'].get('Message', '')}",
        )
    except BotoCoreError as error:
        _fail(command, f"cannot reach AWS: {error}")


def _read_json_file(command: str, path: Path, what: str) -> Any:
    try:
        return parse_json_body(path.read_bytes())
    except OSError as error:
        _fail(command, f"cannot read {what} file {path}: {error.strerror or error}")
    except MalformedJson as error:
        _fail(command, f"invalid JSON in {what} file {path}: {error.reason}")


@endpoint_app.command("create")
def create_endpoint(
    org: Annotated[str, typer.Option("--org", help="Owning organisation slug, e.g. acme")],
    event_id: Annotated[int, typer.Option("--event-id", help="The event the endpoint feeds", min=1)],
    endpoint_type: Annotated[str, typer.Option("--type", help="Endpoint type")] = "session",
    rate_limit: Annotated[
        int | None, typer.Option("--rate-limit", help="Requests per minute (default 120)", min=1)
    ] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="Mapping rules file (JSON)")] = None,
    schema: Annotated[Path | None, typer.Option("--schema", help="JSON Schema file for payloads")] = None,
    stack: StackOption = None,
) -> None:
    """Create an endpoint; prints {"endpoint_id", "token", "token_id"} (the token is shown only now)."""
    mapping_rules = _read_json_file("endpoint create", mapping, "mapping") if mapping else None
    json_schema = _read_json_file("endpoint create", schema, "schema") if schema else None
    with _operating("endpoint create", stack):
        _emit(
            endpoints.create_endpoint(
                org,
                event_id,
                endpoint_type=endpoint_type,
                rate_limit_per_minute=rate_limit,
                mapping=mapping_rules,
                json_schema=json_schema,
            )
        )


@endpoint_app.command("show")
def show_endpoint(
    endpoint_id: Annotated[str, typer.Argument(metavar="ID")], stack: StackOption = None
) -> None:
    """An endpoint's configuration and its tokens (ids, dates, revocation; never secrets)."""
    with _operating("endpoint show", stack):
        _emit(endpoints.get_endpoint(endpoint_id))


@endpoint_app.command("list")
def list_endpoints(stack: StackOption = None) -> None:
    """Every endpoint, as `endpoint show` prints them."""
    with _operating("endpoint list", stack):
        _emit(endpoints.list_endpoints())


def _set_enabled(command: str, enabled: bool) -> Callable[..., None]:
    def run(endpoint_id: Annotated[str, typer.Argument(metavar="ID")], stack: StackOption = None) -> None:
        with _operating(command, stack):
            _emit(endpoints.set_endpoint_enabled(endpoint_id, enabled))

    return run


endpoint_app.command(
    "disable", help="Disable an endpoint: its requests get 404 (within the API's cache TTL)."
)(_set_enabled("endpoint disable", enabled=False))
endpoint_app.command("enable", help="Enable a disabled endpoint again.")(
    _set_enabled("endpoint enable", enabled=True)
)


@token_app.command("create")
def create_token(
    endpoint_id: Annotated[str, typer.Argument(metavar="ENDPOINT_ID")],
    expires_in: Annotated[
        int | None,
        typer.Option("--expires-in", metavar="SECONDS", help="Expire after this many seconds", min=1),
    ] = None,
    stack: StackOption = None,
) -> None:
    """Issue another token; prints {"endpoint_id", "token_id", "token", "expires_at"} (shown only now)."""
    with _operating("token create", stack):
        _emit(endpoints.create_token(endpoint_id, expires_in_seconds=expires_in))


@token_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID")], stack: StackOption = None
) -> None:
    """Revoke a token; the API refuses it within 60 s (its cache TTL)."""
    with _operating("token revoke", stack):
        _emit(endpoints.revoke_token(token_id))


@requests_app.command("get")
def get_request(
    request_id: Annotated[str, typer.Argument(metavar="REQUEST_ID")], stack: StackOption = None
) -> None:
    """A request's outcome, as `GET …/requests/{request_id}` answers it."""
    with _operating("requests get", stack):
        outcome = describe_request(request_id)
        if outcome is None:
            _fail("requests get", f"no request {request_id}")
        _emit(outcome)
