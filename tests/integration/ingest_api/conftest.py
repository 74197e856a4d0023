"""Fixtures for the ingest API: moto (from the shared `aws` fixture), a controlled clock, an endpoint."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from ingestctl.admin.endpoints import CreatedEndpoint, create_endpoint
from ingestctl.local.template import CreatedResources
from session_ingest.service import ingest as ingest_service
from session_ingest.service.dependencies import IngestDependencies, build_ingest_dependencies
from tests.support.ingest_api import ApiClient, FakeClock

# Five seconds into a rate window, so every test knows its window and its reset time (55 s).
START = datetime(2026, 6, 14, 12, 0, 5, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def deps(aws: CreatedResources, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> IngestDependencies:
    """The dependencies the handler uses for this test: fresh caches and the controlled clock."""
    dependencies = build_ingest_dependencies(clock)
    monkeypatch.setattr(ingest_service, "ingest_dependencies", lambda: dependencies)
    return dependencies


@pytest.fixture
def endpoint(deps: IngestDependencies, clock: FakeClock) -> CreatedEndpoint:
    """An enabled session endpoint of organisation acme, event 42, with one token."""
    return create_endpoint("acme", 42, clock=clock)


@pytest.fixture
def api(endpoint: CreatedEndpoint) -> ApiClient:
    return ApiClient(endpoint["endpoint_id"], endpoint["token"])


@pytest.fixture
def queue(aws: CreatedResources) -> QueueReader:
    return QueueReader(aws.queue_urls["IngestQueue"])


class QueueReader:
    """Drains the ingest queue so tests can count and inspect what was queued."""

    def __init__(self, url: str) -> None:
        self.url = url

    def drain(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)
            sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(message["Body"]) for message in self.drain()]


def requests_table_items(aws: CreatedResources) -> dict[str, dict[str, Any]]:
    """Every item of the requests table by pk, in the low-level format."""
    items = boto3.client("dynamodb").scan(TableName=aws.tables["RequestsTable"])["Items"]
    return {item["pk"]["S"]: item for item in items}
