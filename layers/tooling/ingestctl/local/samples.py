"""The endpoint the sample events address, stored in a running local stack (`ingestctl local seed-samples`).

`sam local invoke <Function> -e events/... --env-vars events/env.json` runs a built function against
the local stack's moto (README, "sam local invoke"). The API samples (events/ingest_api/*.json) all
address one fixed endpoint id with one fixed token, a test fixture that exists nowhere else. Seeding
stores that endpoint with the hash of that token, as `ingestctl endpoint create` would store a new
one; the token itself is read from the sample file (never from argv) and never stored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ingestctl.local.template import REPO_ROOT
from session_ingest.adapters.clock import SystemClock
from session_ingest.adapters.endpoint_store import EndpointAlreadyExists, EndpointStore
from session_ingest.domain.models import EndpointConfig
from session_ingest.domain.rate_limit import RateWindow
from session_ingest.domain.tokens import IssuedToken, hash_secret, parse_token
from session_ingest.service.dependencies import request_ledger

SAMPLE_EVENTS_DIR = REPO_ROOT / "events" / "ingest_api"
# The one every other sample varies (same endpoint, same token).
SAMPLE_EVENT = SAMPLE_EVENTS_DIR / "accepted.json"
SAMPLE_ORGANISATION = "acme"
SAMPLE_EVENT_ID = 42


@dataclass(frozen=True)
class SampleEndpoint:
    config: EndpointConfig
    created: bool  # False: it was there already (seeding twice is harmless)


def _sample_credentials() -> tuple[str, IssuedToken]:
    """The sample events' endpoint id and token, from the sample file."""
    event = json.loads(SAMPLE_EVENT.read_text(encoding="utf-8"))
    token = event["headers"]["Authorization"].removeprefix("Bearer ")
    presented = parse_token(token)
    if presented is None:
        raise ValueError(f"{SAMPLE_EVENT} does not carry a token in the service's format")
    return event["pathParameters"]["endpoint_id"], IssuedToken(
        presented.token_id, token, hash_secret(presented.secret)
    )


def seed_sample_endpoint() -> SampleEndpoint:
    """Store the sample endpoint (organisation `acme`, event 42) and its token's hash, unless present."""
    endpoint_id, token = _sample_credentials()
    config = EndpointConfig(
        endpoint_id=endpoint_id,
        organisation=SAMPLE_ORGANISATION,
        event_id=SAMPLE_EVENT_ID,
        created_at=SystemClock().now(),
    )
    try:
        EndpointStore().create(config, token)
    except EndpointAlreadyExists:
        return SampleEndpoint(config, created=False)
    return SampleEndpoint(config, created=True)


def use_up_rate_limit(config: EndpointConfig) -> int:
    """Spend the rest of the endpoint's current minute, so rate_limited.json answers 429 in it."""
    window = RateWindow.containing(config.endpoint_id, config.rate_limit_per_minute, time.time())
    spent = 0
    ledger = request_ledger()
    while ledger.consume(window).admitted:
        spent += 1
    return spent
