"""Security over HTTP, against the running local stack: tokens, cross-endpoint access, unsafe content.

What an attacker sends is what these tests send: real HTTP requests to `ingestctl local up`. The rules
behind them are unit-tested in tests/unit/domain; here it is their effect through the API that counts.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingestctl.admin.endpoints import create_token, revoke_token
from ingestctl.local.launcher import LocalStackProcess, service_pointed_at
from session_ingest.adapters.endpoint_store import EndpointStore, event_owner_key
from session_ingest.domain.models import EndpointConfig
from session_ingest.domain.tokens import issue_token
from session_ingest.settings import get_settings
from tests.e2e.conftest import eventually
from tests.e2e.support import StackEndpoint, create_stack_endpoint, headers_of
from tests.support.openapi_contract import DRY_RUN, INGEST, LISTING, OPERATIONS, OUTCOME, assert_documented
from tests.support.secret_guard import SecretGuard
from tests.unit.domain.test_css import UNSAFE_DECLARATIONS
from tests.unit.domain.test_urls import SCRIPT_SCHEMES

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SESSION = {"session": {"organisation_uid": "sec-1", "name": "Security"}}
# The module sends a few hundred requests per endpoint: out of the way of the default 120 a minute.
RATE_LIMIT = 100_000


@pytest.fixture(scope="module")
def alpha(stack: LocalStackProcess) -> StackEndpoint:
    return create_stack_endpoint(stack, organisation="alpha", rate_limit=RATE_LIMIT)


@pytest.fixture(scope="module")
def beta(stack: LocalStackProcess) -> StackEndpoint:
    return create_stack_endpoint(stack, organisation="beta", rate_limit=RATE_LIMIT)


def _scan(stack: LocalStackProcess, table: str) -> list[dict[str, Any]]:
    """Every item of a table, raw (DynamoDB's attribute-value JSON), all pages."""
    paginator = stack.client("dynamodb").get_paginator("scan")
    return [item for page in paginator.paginate(TableName=table) for item in page["Items"]]


def _send(endpoint: StackEndpoint, operation: tuple[str, str], token: str, request_id: str = "") -> Any:
    body = None if operation in (OUTCOME, LISTING) else json.dumps(SESSION).encode()
    answer = endpoint.send(operation, body, token=token, request_id=request_id)
    assert_documented(operation, answer.status, headers_of(answer), answer.body)
    return answer


def test_token_secrets_are_stored_only_as_their_sha256_hash(stack: LocalStackProcess) -> None:
    # Given an endpoint with three tokens, each used once
    endpoint = create_stack_endpoint(stack, organisation="hashed")
    with service_pointed_at(stack):
        tokens = [endpoint.token] + [create_token(endpoint.endpoint_id)["token"] for _ in range(2)]
    for token in tokens:
        assert endpoint.post(SESSION, token=token).status == 200
    # When every table is read raw
    tables = {
        name: json.dumps(_scan(stack, name)) for name in ("EndpointsTable", "RequestsTable", "SessionsTable")
    }
    # Then no secret (nor any 24 characters of one) is stored anywhere
    guard = SecretGuard()
    for token in tokens:
        guard.register(token)
    for name, text in tables.items():
        assert guard.leak_in(text) is None, name
    # And each token is there as the SHA-256 of its secret, under its token id
    token_items = [item for item in _scan(stack, "EndpointsTable") if item["sk"]["S"].startswith("TOKEN#")]
    stored = {item["token_id"]["S"]: item["secret_hash"]["S"] for item in token_items}
    for token in tokens:
        _, token_id, secret = token.split("_", 2)
        assert stored[token_id] == hashlib.sha256(secret.encode()).hexdigest()


@pytest.mark.parametrize("operation", OPERATIONS, ids=["ingest", "dry run", "outcome", "listing"])
def test_a_token_of_one_endpoint_opens_nothing_of_another(
    alpha: StackEndpoint, beta: StackEndpoint, operation: tuple[str, str]
) -> None:
    # Given an accepted request of beta's
    accepted = beta.post(SESSION)
    assert accepted.status == 200
    beta_request = accepted.json["request_id"]
    # When alpha's valid token is used on beta's endpoint
    answer = _send(beta, operation, alpha.token, request_id=beta_request)
    # Then it is refused as unauthenticated, whatever the call, and the token is not echoed
    assert (answer.status, answer.json["error_type"]) == (401, "authentication_error")
    assert alpha.token.split("_", 2)[2].encode() not in answer.body + json.dumps(answer.headers).encode()


def test_a_request_of_another_endpoint_is_unknown_to_a_valid_token(
    alpha: StackEndpoint, beta: StackEndpoint
) -> None:
    # Given an accepted request of beta's
    beta_request = beta.post(SESSION).json["request_id"]
    # When alpha asks for it through its own endpoint, with its own valid token
    answer = _send(alpha, OUTCOME, alpha.token, request_id=beta_request)
    # Then it does not exist for alpha
    assert (answer.status, answer.json["error_type"]) == (404, "not_found")


def test_an_expired_token_is_refused_on_every_call(stack: LocalStackProcess, alpha: StackEndpoint) -> None:
    # Given a token whose expiry is already past (time set by its data, not by waiting)
    issued = issue_token()
    now = datetime.now(UTC)
    with service_pointed_at(stack):
        EndpointStore().add_token(
            alpha.endpoint_id, issued, now - timedelta(hours=2), now - timedelta(hours=1)
        )
    request_id = alpha.post(SESSION).json["request_id"]
    # When it is used for each call
    statuses = {op: _send(alpha, op, issued.token, request_id=request_id).status for op in OPERATIONS}
    # Then each is refused
    assert set(statuses.values()) == {401}, statuses


def test_a_token_expiring_later_is_accepted(stack: LocalStackProcess) -> None:
    # Given a token that expires in an hour (the control for the test above), on an endpoint no warm
    # function has cached yet (a cached one re-reads unknown token ids at most once a second)
    endpoint = create_stack_endpoint(stack, organisation="expiring")
    with service_pointed_at(stack):
        expiring = create_token(endpoint.endpoint_id, expires_in_seconds=3600)
    # When it is used
    answer = _send(endpoint, INGEST, expiring["token"])
    # Then it works
    assert answer.status == 200


def test_a_revoked_token_is_refused_on_every_call(stack: LocalStackProcess, alpha: StackEndpoint) -> None:
    # Given a token issued and then revoked (cached revocation: the integration ring's controlled clock)
    with service_pointed_at(stack):
        created = create_token(alpha.endpoint_id)
        revoke_token(created["token_id"])
    request_id = alpha.post(SESSION).json["request_id"]
    # When it is used for each call
    statuses = {op: _send(alpha, op, created["token"], request_id=request_id).status for op in OPERATIONS}
    # Then each is refused
    assert set(statuses.values()) == {401}, statuses


@pytest.mark.parametrize("url", SCRIPT_SCHEMES, ids=repr)
def test_a_link_that_is_not_http_or_a_site_path_is_refused_by_the_api(alpha: StackEndpoint, url: str) -> None:
    # Given a session linking to a script, data or other non-http URL (in any case, encoding or disguise)
    payload = {"session": {"name": "Link", "card_link_type": "external", "card_link_url": url}}
    # When it is dry-run and posted
    answers = {op: alpha.post(payload, op) for op in (DRY_RUN, INGEST)}
    # Then both refuse it synchronously, naming the field; nothing is queued
    for operation, answer in answers.items():
        assert_documented(operation, answer.status, headers_of(answer), answer.body)
        assert answer.status == 422, (operation, answer.body)
        assert "card_link_url" in {detail["field"] for detail in answer.json["details"]}


def test_an_internal_link_to_a_script_is_refused_too(alpha: StackEndpoint) -> None:
    # Given an internal link (site paths allowed) whose value is a script URL
    payload = {"session": {"card_link_type": "internal", "card_link_url": "javascript:alert(1)"}}
    # When it is dry-run
    answer = alpha.post(payload, DRY_RUN)
    # Then it is refused
    assert answer.status == 422
    assert "card_link_url" in {detail["field"] for detail in answer.json["details"]}


@pytest.mark.parametrize(("prop", "value", "reason"), UNSAFE_DECLARATIONS, ids=repr)
def test_an_unsafe_css_property_is_dropped_by_the_api_and_the_rest_kept(
    alpha: StackEndpoint, prop: str, value: Any, reason: str
) -> None:
    # Given a background holding one unsafe or invalid property beside a safe one
    background = {prop: value, "background-repeat": "no-repeat"}
    payload = {"session": {"name": "Styled", "eventapp_background": background}}
    # When it is dry-run through the API
    answer = alpha.post(payload, DRY_RUN)
    # Then it is accepted with only the safe property, and a warning names the dropped one
    assert_documented(DRY_RUN, answer.status, headers_of(answer), answer.body)
    assert answer.status == 200, answer.body
    assert answer.json["record"]["eventapp_background"] == {"background-repeat": "no-repeat"}
    dropped = {w["field"] for w in answer.json["warnings"] if w["code"] == "css_property_dropped"}
    assert dropped == {f"eventapp_background.{prop.strip().lower()}"}


def test_a_stored_session_keeps_only_the_safe_css(stack: LocalStackProcess, alpha: StackEndpoint) -> None:
    # Given a background mixing safe properties with injection attempts, as a JSON string
    background = {
        "background-color": "#0a0b0c",
        "opacity": "0.5",
        "background-image": "url('javascript:alert(1)')",
        "behavior": "url(x.htc)",
        "-moz-binding": "url(x.xml#xss)",
        "color": "expression(alert(1))",
        "background": "red /**/ url(x)",
    }
    payload = {"session": {"organisation_uid": "css-1", "eventapp_background": json.dumps(background)}}
    # When it is posted and processed
    accepted = alpha.post(payload)
    assert accepted.status == 200
    request_id = accepted.json["request_id"]

    def outcome() -> dict[str, Any] | None:
        answer = alpha.send(OUTCOME, request_id=request_id)
        return answer.json if answer.json["status"] != "queued" else None

    processed = eventually(outcome)
    # Then the stored session holds only the safe properties
    assert processed["status"] == "processed", processed
    items = _scan(stack, "SessionsTable")
    stored = [item for item in items if item.get("resource_id", {}).get("S") == processed["resource_id"]]
    assert len(stored) == 1
    kept = {name: value["S"] for name, value in stored[0]["eventapp_background"]["M"].items()}
    assert kept == {"background-color": "#0a0b0c", "opacity": "0.5"}


def _processed(endpoint: StackEndpoint, request_id: str) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        answer = endpoint.send(OUTCOME, request_id=request_id)
        return answer.json if answer.json["status"] != "queued" else None

    return eventually(final)


def _second_organisation_on(stack: LocalStackProcess, event_id: int) -> StackEndpoint:
    """Organisation beta's endpoint on another organisation's event, as a configuration from before the
    one-organisation-per-event refusal would be: `endpoint create` refuses it, so the event's owner item is
    removed first (what an older deployment never wrote) and beta's endpoint is stored directly."""
    config = EndpointConfig(
        endpoint_id=str(uuid.uuid4()),
        organisation="beta",
        event_id=event_id,
        rate_limit_per_minute=RATE_LIMIT,
        created_at=datetime.now(UTC),
    )
    token = issue_token()
    with service_pointed_at(stack):
        owner = {"TableName": get_settings().endpoints_table, "Key": event_owner_key(event_id)}
        stack.client("dynamodb").delete_item(**owner)
        EndpointStore().create(config, token)
    return StackEndpoint(stack.ready["api_url"], config.endpoint_id, token.token, event_id)


def test_another_organisation_on_the_same_event_can_neither_see_nor_change_its_sessions(
    stack: LocalStackProcess,
) -> None:
    # Given alpha's processed session with an organisation uid, and beta's endpoint on alpha's event
    alpha = create_stack_endpoint(stack, organisation="alpha", rate_limit=RATE_LIMIT)
    created = alpha.post({"session": {"organisation_uid": "iso-1", "name": "Alpha only"}})
    alpha_session = _processed(alpha, created.json["request_id"])
    assert alpha_session["status"] == "processed", alpha_session
    number = alpha_session["resource_id"].rsplit("/", 1)[1]
    beta = _second_organisation_on(stack, alpha.event_id)
    for session in (
        {"resource_id": f"beta/session/{number}", "name": "Beta was here"},
        {"resource_id": int(number), "name": "Beta was here"},
        {"organisation_uid": "iso-1", "name": "Beta was here"},
    ):
        # When beta dry-runs a payload whose match key finds alpha's session
        dry_run = beta.post({"session": session}, DRY_RUN)
        # Then it is refused, naming neither alpha nor its resource id
        assert dry_run.status == 422, dry_run.body
        assert "alpha" not in dry_run.body.decode()
        # And when beta sends it for real, the request fails and reveals nothing either
        accepted = beta.post({"session": session})
        assert accepted.status == 200
        failed = _processed(beta, accepted.json["request_id"])
        assert failed["status"] == "failed"
        assert failed["resource_id"] is None
        assert "alpha" not in json.dumps(failed)
    # And alpha's session is unchanged
    items = _scan(stack, "SessionsTable")
    [stored] = [
        item for item in items if item.get("resource_id", {}).get("S") == alpha_session["resource_id"]
    ]
    assert stored["name"] == {"S": "Alpha only"}
