"""The rate limit holds across concurrent Lambda instances (against a moto server, never in-process moto).

Each thread plays one warm Lambda instance with its own caches; all share the clock, so every request
falls into one window, and the shared counter is the only thing that can keep them under the limit.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3

from ingestctl.admin.endpoints import create_endpoint
from ingestctl.local.template import CreatedResources
from session_ingest.domain.rate_limit import RateWindow
from session_ingest.errors import MalformedJson, RateLimited
from session_ingest.service.dependencies import IngestDependencies, build_ingest_dependencies
from session_ingest.service.ingest import IngestRequest, accept_payload
from tests.integration.ingest_api.conftest import START
from tests.support.ingest_api import FakeClock

INSTANCES = 12
REQUESTS_PER_INSTANCE = 4
LIMIT = 10
VALID = '{"session": {"name": "Keynote"}}'


def _requests(endpoint_id: str, token: str, instance: int) -> list[IngestRequest]:
    """Alternately valid and malformed bodies: both kinds spend a unit of the window."""
    return [
        IngestRequest(
            endpoint_id=endpoint_id,
            request_id=str(uuid.uuid4()),
            authorization=f"Bearer {token}",
            content_type="application/json",
            body=VALID if (instance + n) % 2 == 0 else "{",
        )
        for n in range(REQUESTS_PER_INSTANCE)
    ]


def _run_instance(
    deps: IngestDependencies, requests: list[IngestRequest], start: threading.Barrier
) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    start.wait()
    for request in requests:
        try:
            accept_payload(request, deps)
            outcomes["accepted"] += 1
        except MalformedJson:
            outcomes["malformed"] += 1
        except RateLimited:
            outcomes["rate_limited"] += 1
    return outcomes


def _queued_messages(url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_concurrent_instances_never_admit_more_than_the_limit(moto_server: CreatedResources) -> None:
    # Given an endpoint limited to 10 requests a minute, and 12 warm instances with a burst of 4 each
    created = create_endpoint("acme", 42, rate_limit_per_minute=LIMIT)
    clock = FakeClock(START)
    instances = [build_ingest_dependencies(clock) for _ in range(INSTANCES)]
    start = threading.Barrier(INSTANCES)
    # When all 48 requests race in one window
    with ThreadPoolExecutor(INSTANCES) as pool:
        futures = [
            pool.submit(_run_instance, deps, _requests(created["endpoint_id"], created["token"], n), start)
            for n, deps in enumerate(instances)
        ]
        outcomes = sum((future.result() for future in futures), Counter[str]())
    # Then exactly the limit's worth of requests got past the limiter (accepted or judged malformed)
    assert outcomes["accepted"] + outcomes["malformed"] == LIMIT
    assert outcomes["rate_limited"] == INSTANCES * REQUESTS_PER_INSTANCE - LIMIT
    # And the shared counter and the queue agree with what the clients were told
    window = RateWindow.containing(created["endpoint_id"], LIMIT, START.timestamp())
    counter = boto3.client("dynamodb").get_item(
        TableName=moto_server.tables["RequestsTable"],
        Key={"pk": {"S": f"RATE#{created['endpoint_id']}#{window.start}"}},
    )["Item"]
    assert counter["request_count"] == {"N": str(LIMIT)}
    assert _queued_messages(moto_server.queue_urls["IngestQueue"]) == outcomes["accepted"]
