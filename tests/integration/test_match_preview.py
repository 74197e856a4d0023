"""`preview_match`: the dry run's `match` (contract §4) uses the consumer's lookups and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ingestctl.local.template import CreatedResources
from session_ingest.adapters.aws import client
from session_ingest.domain.models import EndpointConfig
from session_ingest.service.match_preview import preview_match
from session_ingest.settings import get_settings
from tests.support.consumer import ENDPOINT_ID, EVENT_ID, ORG, accept_and_deliver, make_envelope, sessions

ENDPOINT = EndpointConfig(
    endpoint_id=ENDPOINT_ID, organisation=ORG, event_id=EVENT_ID, created_at=datetime.now(UTC)
)


def _table_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client("dynamodb").scan(TableName=get_settings().sessions_table)["Items"]
    return items


@pytest.fixture
def one_session(aws: CreatedResources) -> None:
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "stored"}))


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            {"resource_id": "acme/session/1"},
            {"action": "update", "by": "resource_id", "resource_id": "acme/session/1"},
        ),
        (
            {"resource_id": "1", "organisation_uid": "V"},
            {"action": "update", "by": "resource_id", "resource_id": "acme/session/1"},
        ),
        (
            {"organisation_uid": "U"},
            {"action": "update", "by": "organisation_uid", "resource_id": "acme/session/1"},
        ),
        (
            {"resource_id": "acme/session/9", "organisation_uid": "U"},
            {"action": "update", "by": "organisation_uid", "resource_id": "acme/session/1"},
        ),
        ({"organisation_uid": "new"}, {"action": "create", "by": None, "resource_id": None}),
        ({"name": "no keys"}, {"action": "create", "by": None, "resource_id": None}),
    ],
)
def test_the_preview_reports_what_the_consumer_would_match(
    one_session: None, record: dict[str, Any], expected: dict[str, Any]
) -> None:
    # Given session acme/session/1 holding uid U  # When a record is previewed
    # Then the preview names the rule and session the consumer would use
    assert preview_match(sessions(), ENDPOINT, record).model_dump() == expected


def test_the_preview_writes_nothing(one_session: None) -> None:
    # Given the sessions table as the consumer left it
    before = _table_items()
    # When records that would create and update are previewed
    preview_match(sessions(), ENDPOINT, {"organisation_uid": "brand-new", "name": "x"})
    preview_match(sessions(), ENDPOINT, {"organisation_uid": "U", "name": "y"})
    # Then nothing changed, not even the session counter
    assert _table_items() == before


def test_the_preview_refuses_another_organisations_resource_id(one_session: None) -> None:
    with pytest.raises(ValueError, match="another organisation"):
        preview_match(sessions(), ENDPOINT, {"resource_id": "other/session/1"})
