"""`POST /api/webhook/ingest/{endpoint_id}/test`: the same checks, nothing stored or queued (contract §4)."""

from __future__ import annotations

from typing import Any

import pytest

from ingestctl.admin.endpoints import create_endpoint
from ingestctl.local.template import CreatedResources
from session_ingest.domain.models import EndpointConfig
from session_ingest.service.dependencies import IngestDependencies
from session_ingest.service.match_preview import DryRunMatch
from session_ingest.service.process import QueueMessage, process_message
from tests.fixtures import reference_session_payload
from tests.integration.ingest_api.conftest import QueueReader, requests_table_items
from tests.support.ingest_api import ApiClient


class RecordingPreviewer:
    """Stands in for the consumer's read-only lookup (wired by the lead) and records what it was asked."""

    def __init__(self, preview: DryRunMatch) -> None:
        self.preview = preview
        self.calls: list[tuple[EndpointConfig, dict[str, Any]]] = []

    def __call__(self, config: EndpointConfig, record: dict[str, Any]) -> DryRunMatch:
        self.calls.append((config, record))
        return self.preview


@pytest.fixture
def previewer(deps: IngestDependencies) -> RecordingPreviewer:
    recording = RecordingPreviewer(
        DryRunMatch(action="update", by="resource_id", resource_id="acme/session/9001")
    )
    deps.preview_match = recording
    return recording


def test_a_dry_run_returns_the_record_warnings_and_match_and_stores_nothing(
    api: ApiClient, previewer: RecordingPreviewer, aws: CreatedResources, queue: QueueReader
) -> None:
    # Given a payload with an unsupported field
    payload = reference_session_payload()
    payload["session"]["tracks"] = [3]
    # When it is dry-run
    result = api.post(payload, dry_run=True)
    # Then the normalised record, the warnings and the previewed match come back
    assert result.status == 200
    assert set(result.body) == {"success", "record", "warnings", "match"}
    assert result.body["success"] is True
    assert result.body["record"]["start_time"] == "2026-06-14T23:00:00Z"
    assert [warning["code"] for warning in result.body["warnings"]] == ["unsupported_field"]
    assert result.body["match"] == {
        "action": "update",
        "by": "resource_id",
        "resource_id": "acme/session/9001",
    }
    # And the previewer saw the endpoint and the normalised record
    [(config, record)] = previewer.calls
    assert (config.endpoint_id, record) == (api.endpoint_id, result.body["record"])
    # And nothing but the rate counter was written, and nothing queued
    assert [pk.split("#")[0] for pk in requests_table_items(aws)] == ["RATE"]
    assert queue.drain() == []
    assert result.headers["RateLimit-Remaining"] == "119"


@pytest.mark.parametrize(
    ("options", "status"),
    [
        pytest.param({"body": "{"}, 400, id="malformed"),
        pytest.param({"token": None}, 401, id="no-token"),
        pytest.param({"content_type": "text/plain"}, 415, id="not-json"),
        pytest.param({"body": {"session": {"card_link_type": "sideways"}}}, 422, id="invalid-field"),
    ],
)
@pytest.mark.usefixtures("previewer")
def test_a_dry_run_makes_the_same_checks(api: ApiClient, options: dict[str, Any], status: int) -> None:
    # Given a request failing one check
    body = options.pop("body", reference_session_payload())
    # When it is dry-run
    result = api.post(body, dry_run=True, **options)
    # Then it gets the same status as a real request would
    assert result.status == status


@pytest.mark.usefixtures("previewer")
def test_dry_runs_count_against_the_rate_limit(deps: IngestDependencies) -> None:
    # Given an endpoint limited to one request a minute
    created = create_endpoint("acme", 42, rate_limit_per_minute=1)
    api = ApiClient(created["endpoint_id"], created["token"])
    # When it is dry-run once and then posted to
    statuses = [
        api.post(reference_session_payload(), dry_run=True).status,
        api.post(reference_session_payload()).status,
    ]
    # Then the dry run used the window's only unit
    assert statuses == [200, 429]


def _process_queued(queue: QueueReader) -> None:
    """Run the consumer over everything queued, as the SQS trigger would."""
    for message in queue.drain():
        process_message(
            QueueMessage(message["Body"], message["MessageAttributes"]["request_id"]["StringValue"], 1)
        )


def test_the_match_preview_reports_what_the_consumer_would_do(api: ApiClient, queue: QueueReader) -> None:
    # Given a session payload identified only by its organisation uid
    payload = {"session": {"organisation_uid": "ext-77", "name": "Keynote"}}
    # When it is dry-run before any session exists
    before = api.post(payload, dry_run=True)
    # Then it would create one
    assert before.body["match"] == {"action": "create", "by": None, "resource_id": None}
    # And once it has been accepted and processed
    assert api.post(payload).status == 200
    _process_queued(queue)
    # Then a dry run of the same uid would update that session, found by its uid
    after = api.post(payload, dry_run=True)
    assert after.body["match"]["action"] == "update"
    assert after.body["match"]["by"] == "organisation_uid"
    resource_id = after.body["match"]["resource_id"]
    assert resource_id.startswith("acme/session/")
    # And a dry run naming that resource id would update it, found by resource id
    by_id = api.post({"session": {"resource_id": resource_id, "name": "Keynote II"}}, dry_run=True)
    assert by_id.body["match"] == {"action": "update", "by": "resource_id", "resource_id": resource_id}
