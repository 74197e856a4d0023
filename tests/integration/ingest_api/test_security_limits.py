"""Cheap refusals stay cheap, and revocation holds on every call (contract §3, §4).

Size, media type and token checks run before anything is parsed, mapped or sent to AWS: spies on the
JSON parser, the mapper and every boto3 call prove it. A revoked token is refused by every call
within 60 s however warm the cache is, on a clock the test controls.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.client import BaseClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestctl.admin.endpoints import CreatedEndpoint, create_token, revoke_token
from session_ingest import limits
from session_ingest.domain import batch as payload_rules  # payload_verdict: the single and batch routes' rule
from session_ingest.domain import json_body, json_schema
from session_ingest.domain.json_schema import schema_errors
from session_ingest.domain.mapping import map_payload
from tests.fixtures import reference_session_payload
from tests.support.ingest_api import ApiClient, FakeClock, HttpResult


@dataclass
class Work:
    """What a request cost: AWS operations by name, JSON parses, mappings, schema checks."""

    aws: Counter[str] = field(default_factory=Counter)
    json_loads: int = 0
    mapped: int = 0
    schema_checked: int = 0

    def reset(self) -> None:
        self.aws.clear()
        self.json_loads = self.mapped = self.schema_checked = 0


def _counting(work: Work, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        setattr(work, name, getattr(work, name) + 1)
        return function(*args, **kwargs)

    return counted


@pytest.fixture
def work(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> Work:
    """Spies on the expensive steps, installed once the endpoint is cached by a first request."""
    assert api.post(reference_session_payload()).status == 200  # a warm Lambda: config cached
    spent = Work()
    make_api_call = BaseClient._make_api_call
    handler_thread = threading.get_ident()  # the handler runs here; other threads are not this request's

    def counted_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if threading.get_ident() == handler_thread:
            spent.aws[operation] += 1
        return make_api_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted_call)
    loads = _counting(spent, "json_loads", json.loads)
    monkeypatch.setattr(json_body, "json", SimpleNamespace(loads=loads, JSONDecodeError=json.JSONDecodeError))
    monkeypatch.setattr(payload_rules, "map_payload", _counting(spent, "mapped", map_payload))
    # payload_verdict imports the schema check when an endpoint has a schema: spied on where it lives.
    monkeypatch.setattr(json_schema, "schema_errors", _counting(spent, "schema_checked", schema_errors))
    return spent


def _oversize() -> str:
    return json.dumps({"session": {"name": "x" * limits.MAX_BODY_BYTES}})


def _deep(levels: int) -> str:
    return '{"session": {"extra": ' + "[" * levels + "]" * levels + "}}"


CHEAP_REFUSALS: list[tuple[str, Callable[[ApiClient], HttpResult], int]] = [
    ("a body over 256 KiB", lambda api: api.post(_oversize()), 413),
    ("a base64 body over 256 KiB", lambda api: api.post(_oversize(), base64_encoded=True), 413),
    ("a 4 MiB body", lambda api: api.post("[" + " " * (4 * 1024 * 1024) + "]"), 413),
    ("an oversized body without a token", lambda api: api.post(_oversize(), token=None), 413),
    (
        "an oversized body for an endpoint not cached",
        lambda api: api.post(_oversize(), endpoint_id=str(uuid.uuid4())),
        413,
    ),
    ("a body not declared JSON", lambda api: api.post("{}", content_type="text/plain"), 415),
    ("no Authorization header", lambda api: api.post(reference_session_payload(), token=None), 401),
    ("a malformed token", lambda api: api.post(reference_session_payload(), token="hunter2"), 401),
    ("an endpoint id that is not a UUID", lambda api: api.post({}, endpoint_id="not-a-uuid"), 401),
]


@pytest.mark.parametrize(("case", "send", "status"), CHEAP_REFUSALS, ids=[c[0] for c in CHEAP_REFUSALS])
def test_refusals_before_the_token_is_looked_up_cost_no_aws_call_and_no_parsing(
    api: ApiClient, work: Work, case: str, send: Callable[[ApiClient], HttpResult], status: int
) -> None:
    # Given a warm Lambda and spies on every expensive step
    work.reset()
    # When a request fails one of the first checks
    answer = send(api)
    # Then it is refused with nothing parsed, mapped, validated or sent to AWS
    assert answer.status == status, answer.body
    assert (dict(work.aws), work.json_loads, work.mapped, work.schema_checked) == ({}, 0, 0, 0)


def test_a_wrong_secret_for_a_cached_endpoint_costs_no_aws_call(api: ApiClient, work: Work) -> None:
    # Given the endpoint and its token id cached by a warm Lambda
    token_id = api.token.split("_")[1]
    forged = f"sit_{token_id}_{'A' * 43}"
    work.reset()
    # When its token id is presented with a guessed secret, many times
    statuses = {api.post(reference_session_payload(), token=forged).status for _ in range(20)}
    # Then every guess is a 401 answered from the cache: no read, no parse
    assert statuses == {401}
    assert (dict(work.aws), work.json_loads, work.mapped) == ({}, 0, 0)


def test_unknown_token_ids_cost_at_most_one_read_per_endpoint_per_second(api: ApiClient, work: Work) -> None:
    # Given a warm Lambda
    work.reset()
    # When 20 well-formed tokens with unknown ids arrive for the endpoint within the same second
    forged = [f"sit_{index:032x}_{'B' * 43}" for index in range(20)]
    statuses = {api.post(reference_session_payload(), token=token).status for token in forged}
    # Then all are 401, and the endpoint was re-read at most once (the cache's miss-refresh interval)
    assert statuses == {401}
    assert sum(work.aws.values()) <= 1, dict(work.aws)
    assert (work.json_loads, work.mapped) == (0, 0)


@pytest.mark.parametrize("levels", [limits.MAX_JSON_DEPTH, 10_000, 100_000])
def test_a_too_deep_body_is_refused_before_the_json_parser_and_the_mapper_run(
    api: ApiClient, work: Work, levels: int
) -> None:
    # Given a body nesting deeper than the limit (the session object is already 2 levels)
    work.reset()
    # When it is posted with a valid token
    answer = api.post(_deep(levels))
    # Then it is malformed JSON, found by the bracket scan: json.loads (which recurses) never ran
    assert (answer.status, answer.error_type) == (400, "malformed_json")
    assert (work.json_loads, work.mapped, work.schema_checked) == (0, 0, 0)
    # And only the rate-limit unit was spent: nothing stored, nothing queued
    assert set(work.aws) <= {"UpdateItem"}, dict(work.aws)


def test_an_invalid_payload_is_mapped_but_never_stored_or_queued(api: ApiClient, work: Work) -> None:
    # Given a warm Lambda
    work.reset()
    # When a payload failing field validation is posted
    answer = api.post({"session": {"start_time": "not a time"}})
    # Then it was parsed and mapped once, and refused without a write beyond its rate-limit unit
    assert answer.status == 422
    assert (work.json_loads, work.mapped) == (1, 1)
    assert "SendMessage" not in work.aws
    assert "TransactWriteItems" not in work.aws


def test_an_accepted_payload_costs_two_aws_calls_once_warm(api: ApiClient, work: Work) -> None:
    # Given a warm Lambda (the control: the spies do see real work)
    work.reset()
    # When a valid payload is posted
    answer = api.post(reference_session_payload())
    # Then it was parsed, mapped, stored and queued: one transaction and one send
    assert answer.status == 200
    assert (work.json_loads, work.mapped) == (1, 1)
    assert dict(work.aws) == {"TransactWriteItems": 1, "SendMessage": 1}


@given(cache_age=st.integers(min_value=0, max_value=59), revoked_after=st.integers(min_value=0, max_value=59))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_revoked_token_is_refused_by_every_call_within_60_seconds(
    api: ApiClient, endpoint: CreatedEndpoint, clock: FakeClock, cache_age: int, revoked_after: int
) -> None:
    # Given a new token in use on every call, cached by the warm Lambda for `cache_age` seconds
    clock.advance(limits.RATE_WINDOW_SECONDS)  # a fresh rate window for each example
    created = create_token(endpoint["endpoint_id"], clock=clock)
    clock.advance(limits.CACHE_MISS_REFRESH_SECONDS)
    token = created["token"]
    accepted = api.post(reference_session_payload(), token=token)
    assert accepted.status == 200
    request_id = accepted.body["request_id"]
    clock.advance(cache_age)
    # When it is revoked, `revoked_after` seconds after its last use
    clock.advance(revoked_after)
    revoke_token(created["token_id"])
    # Then 59 seconds later every call refuses it
    clock.advance(59)
    statuses = (
        api.post(reference_session_payload(), token=token).status,
        api.post(reference_session_payload(), token=token, dry_run=True).status,
        api.get_outcome(request_id, token=token).status,
    )
    assert statuses == (401, 401, 401)
    # And the endpoint's other token still opens it
    assert api.post(reference_session_payload()).status == 200
