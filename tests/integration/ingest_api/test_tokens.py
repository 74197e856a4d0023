"""Tokens (contract §3): several active at once, expiry, revocation within 60 s (warm cache); no leaks."""

from __future__ import annotations

import importlib
import io
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

import ingest_api_handler
from ingestctl.admin.endpoints import create_token, get_endpoint, revoke_token
from ingestctl.local.template import CreatedResources
from session_ingest import limits
from session_ingest.adapters.endpoint_store import TOKEN_SK_PREFIX, endpoint_pk
from session_ingest.observability import logger
from tests.fixtures import reference_session_payload
from tests.support.aws_calls import counting_aws_calls
from tests.support.ingest_api import ApiClient, FakeClock


def test_two_tokens_work_at_once_so_clients_can_rotate(api: ApiClient, clock: FakeClock) -> None:
    # Given a second token issued for the endpoint
    second = create_token(api.endpoint_id, clock=clock)
    # When both are used
    # Then both are accepted
    assert api.post(reference_session_payload()).status == 200
    assert api.post(reference_session_payload(), token=second["token"]).status == 200


def test_a_token_past_the_first_query_page_still_authenticates(api: ApiClient, aws: CreatedResources) -> None:
    # Given an endpoint whose items outgrow one Query page (at most 1 MB, in DynamoDB as in moto): three
    # revoked tokens of ~350 KB each, whose ids sort before the endpoint's own token
    for n in range(3):
        boto3.client("dynamodb").put_item(
            TableName=aws.tables["EndpointsTable"],
            Item={
                "pk": {"S": endpoint_pk(api.endpoint_id)},
                "sk": {"S": f"{TOKEN_SK_PREFIX}!padding-{n}"},
                "token_id": {"S": f"!padding-{n}"},
                "secret_hash": {"S": "x" * 350_000},
                "created_at": {"S": "2026-06-14T12:00:00Z"},
                "revoked": {"BOOL": True},
            },
        )
    # When the endpoint's own token is used, with nothing cached yet
    with counting_aws_calls(("dynamodb",)) as calls:
        status = api.post(reference_session_payload()).status
    # Then the endpoint was read page by page and the token, on the second page, is accepted
    assert calls.count("dynamodb.Query") == 2
    assert status == 200


def test_a_new_token_works_while_the_endpoint_is_cached(api: ApiClient, clock: FakeClock) -> None:
    # Given the endpoint is cached by a warm Lambda
    assert api.post(reference_session_payload()).status == 200
    # When a new token is issued and used a second later (the cache's miss-refresh interval)
    new = create_token(api.endpoint_id, clock=clock)
    clock.advance(limits.CACHE_MISS_REFRESH_SECONDS)
    # Then it is accepted without waiting for the cache to expire
    assert api.post(reference_session_payload(), token=new["token"]).status == 200


def test_a_revoked_token_stops_working_within_the_cache_ttl(api: ApiClient, clock: FakeClock) -> None:
    # Given a rotated endpoint: a new token, and the old one in use and cached
    new = create_token(api.endpoint_id, clock=clock)
    assert api.post(reference_session_payload()).status == 200
    # When the old token is revoked
    revoke_token(api.token.split("_")[1])
    # Then once the cache TTL has passed (well under the contract's 60 s) the old token is refused
    clock.advance(limits.CONFIG_CACHE_SECONDS)
    assert limits.CONFIG_CACHE_SECONDS < 60
    assert api.post(reference_session_payload()).status == 401
    # And the new token keeps working
    assert api.post(reference_session_payload(), token=new["token"]).status == 200


def test_the_warm_cache_serves_a_revoked_token_no_longer_than_its_ttl(
    api: ApiClient, clock: FakeClock
) -> None:
    # Given a cached endpoint whose token is then revoked
    assert api.post(reference_session_payload()).status == 200
    revoke_token(api.token.split("_")[1])
    # When requests arrive just before and at the end of the TTL
    clock.advance(limits.CONFIG_CACHE_SECONDS - 1)
    before = api.post(reference_session_payload()).status
    clock.advance(1)
    after = api.post(reference_session_payload()).status
    # Then the cache is honoured until the TTL and no later
    assert (before, after) == (200, 401)


def test_an_expired_token_is_a_401(api: ApiClient, clock: FakeClock) -> None:
    # Given a token that expires in 60 seconds
    expiring = create_token(api.endpoint_id, expires_in_seconds=60, clock=clock)
    clock.advance(limits.CACHE_MISS_REFRESH_SECONDS)
    assert api.post(reference_session_payload(), token=expiring["token"]).status == 200
    # When it is used after its expiry (still within the endpoint's cache TTL)
    clock.advance(60)
    # Then it is refused at once
    assert api.post(reference_session_payload(), token=expiring["token"]).status == 401


def test_endpoint_views_never_show_secrets_or_hashes(api: ApiClient, aws: CreatedResources) -> None:
    # Given an endpoint with two tokens
    second = create_token(api.endpoint_id)
    # When it is shown
    view = get_endpoint(api.endpoint_id)
    # Then tokens are listed by id with dates and revocation only
    assert [set(token) for token in view["tokens"]] == [
        {"token_id", "created_at", "expires_at", "revoked"}
    ] * 2
    text = repr(view)
    for token in (api.token, second["token"]):
        assert token not in text
        assert token.split("_", 2)[2] not in text


@pytest.fixture
def verbose_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The handler module loaded with the most verbose settings an operator could give it.

    Yields what the service's log handler writes (it holds the stdout of its creation, which
    pytest's capsys does not see); prints (EMF metrics, debug output) are read through capsys.
    """
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    monkeypatch.setenv("POWERTOOLS_EVENT_HANDLER_DEBUG", "true")
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    importlib.reload(ingest_api_handler)
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    logs = io.StringIO()
    original = handler.setStream(logs)
    logger.setLevel("DEBUG")
    yield logs
    logger.setLevel("INFO")
    handler.setStream(original)
    monkeypatch.undo()
    importlib.reload(ingest_api_handler)


@pytest.mark.parametrize("scenario", ["accepted", "rejected", "unauthenticated"])
def test_tokens_never_appear_in_logs(
    api: ApiClient, capsys: pytest.CaptureFixture[str], verbose_handler: io.StringIO, scenario: str
) -> None:
    # Given the handler at its most verbose
    # When requests succeed and fail with the token
    if scenario == "accepted":
        assert api.post(reference_session_payload()).status == 200
    elif scenario == "rejected":
        assert api.post({"session": {"start_time": "never"}}).status == 422
    else:
        assert api.post(reference_session_payload(), token=api.token[:-1] + "x").status == 401
    # Then neither the token nor its secret appear in anything printed
    output = capsys.readouterr()
    printed = verbose_handler.getvalue() + output.out + output.err
    assert '"correlation_id"' in printed  # the Lambda did log
    secret = api.token.split("_", 2)[2]
    assert api.token not in printed
    assert secret not in printed
    assert secret[:-1] not in printed
    assert "Authorization" not in printed


@pytest.mark.parametrize(
    "spelling",
    [str.upper, lambda text: "{" + text + "}", lambda text: text.replace("-", "")],
    ids=["upper-case", "braces", "no-hyphens"],
)
def test_an_endpoint_id_is_compared_in_its_canonical_form(api: ApiClient, spelling: Any) -> None:
    # Given the endpoint id written another way that names the same UUID
    endpoint_id = spelling(api.endpoint_id)
    # When a payload is posted to it, and its outcome read back through the canonical id
    result = api.post(reference_session_payload(), endpoint_id=endpoint_id)
    # Then it is the same endpoint: accepted, and its request is found under the canonical id
    assert result.status == 200, result.body
    assert api.get_outcome(result.body["request_id"].upper()).status == 200
