"""Every sample event in events/ingest_api/ drives the real handler to its documented status.

The events carry a fixed endpoint id and token (`sam local invoke -e events/ingest_api/<case>.json`);
each test stores that endpoint with the hash of that token, as `ingestctl endpoint create` would have.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from ingestctl.local.template import CreatedResources
from session_ingest import limits
from session_ingest.adapters.endpoint_store import EndpointStore
from session_ingest.domain.models import EndpointConfig
from session_ingest.domain.rate_limit import RateWindow
from session_ingest.domain.tokens import IssuedToken, hash_secret, parse_token
from session_ingest.service.dependencies import IngestDependencies
from tests.support.ingest_api import EVENTS_DIR, FakeClock, invoke, load_event

EVENTS = EVENTS_DIR / "ingest_api"
# The case each file demonstrates, and what it must answer.
EXPECTED_STATUS = {
    "accepted.json": 200,
    "bad_token.json": 401,
    "invalid_field.json": 422,
    "malformed_json.json": 400,
    "oversize.json": 413,
    "unsupported_media_type.json": 415,
    "rate_limited.json": 429,
    "dry_run.json": 200,
    "request_status.json": 200,
    "request_status_unknown.json": 404,
    "request_listing.json": 200,
}


def _seed_sample_endpoint(clock: FakeClock) -> EndpointConfig:
    """The endpoint the sample events address, holding the hash of their token."""
    event = load_event("ingest_api/accepted.json")
    token = event["headers"]["Authorization"].removeprefix("Bearer ")
    presented = parse_token(token)
    assert presented is not None
    config = EndpointConfig(
        endpoint_id=event["pathParameters"]["endpoint_id"],
        organisation="acme",
        event_id=42,
        created_at=clock.now(),
    )
    EndpointStore().create(config, IssuedToken(presented.token_id, token, hash_secret(presented.secret)))
    return config


def _fill_rate_window(config: EndpointConfig, clock: FakeClock, aws: CreatedResources) -> None:
    window = RateWindow.containing(config.endpoint_id, config.rate_limit_per_minute, clock.now().timestamp())
    boto3.client("dynamodb").put_item(
        TableName=aws.tables["RequestsTable"],
        Item={
            "pk": {"S": f"RATE#{config.endpoint_id}#{window.start}"},
            "request_count": {"N": str(config.rate_limit_per_minute)},
        },
    )


def test_every_sample_event_has_an_expected_status() -> None:
    # Given the sample event files
    files = {path.name for path in EVENTS.glob("*.json")}
    # Then each one is listed here, so none goes untested
    assert files == set(EXPECTED_STATUS)


@pytest.mark.parametrize(("name", "status"), sorted(EXPECTED_STATUS.items()))
def test_a_sample_event_gets_its_status(
    name: str, status: int, deps: IngestDependencies, clock: FakeClock, aws: CreatedResources
) -> None:
    # Given the sample events' endpoint and token, and what the case needs stored beforehand
    config = _seed_sample_endpoint(clock)
    if name == "rate_limited.json":
        _fill_rate_window(config, clock, aws)
    if name in ("request_status.json", "request_listing.json"):
        assert invoke(load_event("ingest_api/accepted.json")).status == 200
    # When the event is driven through the handler
    result = invoke(load_event(f"ingest_api/{name}"))
    # Then it gets the documented status
    assert result.status == status, result.body
    if status >= 400:
        assert result.body["success"] is False
    assert result.headers["X-Request-Id"] == load_event(f"ingest_api/{name}")["requestContext"]["requestId"]


def test_the_status_lookup_event_reads_the_request_the_accepted_event_creates(
    deps: IngestDependencies, clock: FakeClock
) -> None:
    # Given the sample endpoint and the sample accepted request
    _seed_sample_endpoint(clock)
    accepted = invoke(load_event("ingest_api/accepted.json"))
    # When the sample status lookup runs
    result: Any = invoke(load_event("ingest_api/request_status.json"))
    # Then it reports that request, queued
    assert (result.body["request_id"], result.body["status"]) == (accepted.body["request_id"], "queued")


def test_the_listing_event_lists_the_request_the_accepted_event_creates(
    deps: IngestDependencies, clock: FakeClock
) -> None:
    # Given the sample endpoint and the sample accepted request
    _seed_sample_endpoint(clock)
    accepted = invoke(load_event("ingest_api/accepted.json"))
    # When the sample listing (status=queued) runs
    result: Any = invoke(load_event("ingest_api/request_listing.json"))
    # Then it lists that request, with no further page
    assert [outcome["request_id"] for outcome in result.body["requests"]] == [accepted.body["request_id"]]
    assert result.body["next"] is None


def test_the_oversize_event_is_one_byte_over_the_limit() -> None:
    # Given the oversize sample
    body = load_event("ingest_api/oversize.json")["body"]
    # Then it demonstrates the boundary, not just a huge body
    assert len(body.encode("utf-8")) == limits.MAX_BODY_BYTES + 1
