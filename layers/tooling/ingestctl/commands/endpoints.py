"""`ingestctl endpoint …`, `ingestctl token …` and `ingestctl requests get` (contract §9), over boto3.

Resource names come from the environment, `--stack NAME`'s outputs, or the local stack's defaults
(`ingestctl.resources.configure`), so with only AWS_ENDPOINT_URL set every command reaches
`ingestctl local up`. Output and failures go through `output` and `failures`, as for every command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ingestctl.admin import endpoints
from ingestctl.commands.failures import EXIT_BAD_INPUT, fail
from ingestctl.commands.output import StackOption, TableOption, emit, emit_table
from ingestctl.resources import configure
from session_ingest.domain.json_body import parse_json_body
from session_ingest.domain.request_listing import parse_listing_query
from session_ingest.errors import InvalidListingQuery, MalformedJson
from session_ingest.service.dependencies import request_ledger
from session_ingest.service.request_listing import list_requests
from session_ingest.service.request_outcomes import describe_request

endpoint_app = typer.Typer(
    help="Create, show, list, update, enable and disable ingest endpoints.", no_args_is_help=True
)
token_app = typer.Typer(help="Issue and revoke endpoint tokens (rotation).", no_args_is_help=True)
requests_app = typer.Typer(help="Inspect accepted requests.", no_args_is_help=True)

RateLimitOption = Annotated[
    int | None, typer.Option("--rate-limit", help="Requests per minute (default 120)", min=1)
]
MappingOption = Annotated[Path | None, typer.Option("--mapping", help="Mapping rules file (JSON)")]
SchemaOption = Annotated[Path | None, typer.Option("--schema", help="JSON Schema file for payloads")]


def _read_json_file(path: Path | None, what: str) -> Any:
    """The JSON in `path` (None without a path); an unreadable or invalid file is bad input (exit 2)."""
    if path is None:
        return None
    try:
        return parse_json_body(path.read_bytes())
    except OSError as error:
        fail(f"cannot read {what} file {path}: {error.strerror or error}", EXIT_BAD_INPUT)
    except MalformedJson as error:
        fail(f"invalid JSON in {what} file {path}: {error.reason}", EXIT_BAD_INPUT)


@endpoint_app.command("create")
def create_endpoint(
    org: Annotated[str, typer.Option("--org", help="Owning organisation slug, e.g. acme")],
    event_id: Annotated[int, typer.Option("--event-id", help="The event the endpoint feeds", min=1)],
    endpoint_type: Annotated[str, typer.Option("--type", help="Endpoint type")] = "session",
    rate_limit: RateLimitOption = None,
    mapping: MappingOption = None,
    schema: SchemaOption = None,
    stack: StackOption = None,
) -> None:
    """Create an endpoint; prints {"endpoint_id", "token", "token_id"} (the token is shown only now).

    An event belongs to one organisation: an endpoint of another organisation on it is refused.
    """
    mapping_rules = _read_json_file(mapping, "mapping")
    json_schema = _read_json_file(schema, "schema")
    configure(stack)
    emit(
        endpoints.create_endpoint(
            org,
            event_id,
            endpoint_type=endpoint_type,
            rate_limit_per_minute=rate_limit,
            mapping=mapping_rules,
            json_schema=json_schema,
        )
    )


@endpoint_app.command("update")
def update_endpoint(
    endpoint_id: Annotated[str, typer.Argument(metavar="ID")],
    rate_limit: RateLimitOption = None,
    mapping: MappingOption = None,
    clear_mapping: Annotated[
        bool, typer.Option("--clear-mapping", help="Back to the default mapping (the payload's 'session')")
    ] = False,
    schema: SchemaOption = None,
    clear_schema: Annotated[bool, typer.Option("--clear-schema", help="Stop checking a JSON Schema")] = False,
    stack: StackOption = None,
) -> None:
    """Change an endpoint in place: same id, same tokens, validated as on create; prints the endpoint.

    The API applies the change within its config cache TTL (under 60 s). `config_version` goes up by one;
    each request's outcome records the version it was accepted under.
    """
    if mapping is not None and clear_mapping:
        fail("give --mapping or --clear-mapping, not both", EXIT_BAD_INPUT)
    if schema is not None and clear_schema:
        fail("give --schema or --clear-schema, not both", EXIT_BAD_INPUT)
    changes = endpoints.EndpointChanges(
        rate_limit_per_minute=rate_limit,
        mapping=_read_json_file(mapping, "mapping"),
        clear_mapping=clear_mapping,
        json_schema=_read_json_file(schema, "schema"),
        clear_schema=clear_schema,
    )
    configure(stack)
    emit(endpoints.update_endpoint(endpoint_id, changes))


@endpoint_app.command("show")
def show_endpoint(
    endpoint_id: Annotated[str, typer.Argument(metavar="ID")], stack: StackOption = None
) -> None:
    """An endpoint's configuration (with `config_version`) and its tokens (ids, dates; never secrets)."""
    configure(stack)
    emit(endpoints.get_endpoint(endpoint_id))


@endpoint_app.command("list")
def list_endpoints(stack: StackOption = None, table: TableOption = False) -> None:
    """Every endpoint, as `endpoint show` prints them."""
    configure(stack)
    listed = endpoints.list_endpoints()
    if not table:
        emit(listed)
        return
    emit_table(
        f"{len(listed)} endpoints",
        ["endpoint_id", "organisation", "event", "enabled", "rate/min", "version", "tokens", "created_at"],
        [
            [
                view["endpoint_id"],
                view["organisation"],
                view["event_id"],
                view["enabled"],
                view["rate_limit_per_minute"],
                view["config_version"],
                sum(1 for token in view["tokens"] if not token["revoked"]),
                view["created_at"],
            ]
            for view in listed
        ],
    )


def _set_enabled(enabled: bool) -> Callable[..., None]:
    def run(endpoint_id: Annotated[str, typer.Argument(metavar="ID")], stack: StackOption = None) -> None:
        configure(stack)
        emit(endpoints.set_endpoint_enabled(endpoint_id, enabled))

    return run


endpoint_app.command(
    "disable", help="Disable an endpoint: its requests get 404 (within the API's cache TTL)."
)(_set_enabled(enabled=False))
endpoint_app.command("enable", help="Enable a disabled endpoint again.")(_set_enabled(enabled=True))


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
    configure(stack)
    emit(endpoints.create_token(endpoint_id, expires_in_seconds=expires_in))


@token_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID")], stack: StackOption = None
) -> None:
    """Revoke a token; the API refuses it within 60 s (its cache TTL)."""
    configure(stack)
    emit(endpoints.revoke_token(token_id))


@requests_app.command("get")
def get_request(
    request_id: Annotated[str, typer.Argument(metavar="REQUEST_ID")],
    details: Annotated[
        bool,
        typer.Option(
            "--details",
            help="Add what only operators see: endpoint, config_version, failure_kind, last_error, attempts.",
        ),
    ] = False,
    stack: StackOption = None,
) -> None:
    """A request's outcome, as `GET …/requests/{request_id}` answers it (more with --details)."""
    configure(stack)
    if not details:
        outcome = describe_request(request_id)
        if outcome is None:
            fail(f"no request {request_id}")
        emit(outcome)
        return
    stored = request_ledger().get(request_id)
    if stored is None:
        fail(f"no request {request_id}")
    emit(stored.model_dump(mode="json"))


@requests_app.command("list")
def list_endpoint_requests(
    endpoint_id: Annotated[str, typer.Option("--endpoint-id", help="The endpoint whose requests to list")],
    status: Annotated[
        str | None, typer.Option("--status", help="Only this status: queued, processed or failed")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="ISO", help="Only requests accepted at or after this time"),
    ] = None,
    limit: Annotated[str | None, typer.Option("--limit", metavar="N", help="Requests per page")] = None,
    cursor: Annotated[str | None, typer.Option("--cursor", help="The `next` of the previous page")] = None,
    stack: StackOption = None,
    table: TableOption = False,
) -> None:
    """An endpoint's requests, newest first: {"requests": [outcome, …], "next": cursor|null}.

    Read through the EndpointRequestsIndex GSI (no scan). With --status a page may be short before the
    end: follow `next` until it is null.
    """
    configure(stack)
    known_id = endpoints.get_endpoint(endpoint_id)["endpoint_id"]  # an unknown endpoint is an error
    parameters = {"status": status, "since": since, "limit": limit, "cursor": cursor}
    try:
        query = parse_listing_query(known_id, parameters)
    except InvalidListingQuery as error:
        fail(f"--{error.parameter}: {error.message}", EXIT_BAD_INPUT)
    page = list_requests(request_ledger(), query)
    if not table:
        emit(page)
        return
    columns = ["request_id", "status", "accepted_at", "processed_at", "action", "resource_id"]
    rows = [[outcome[column] for column in columns] for outcome in page["requests"]]
    title = f"{len(rows)} requests of {endpoint_id}" + (
        f" (next: --cursor {page['next']})" if page["next"] else ""
    )
    emit_table(title, columns, rows)
