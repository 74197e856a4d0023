"""An endpoint configuration that slipped past the checks (stored before them, or by hand) never 500s.

`endpoint create`/`update` refuse these (tests/unit: test_json_schema, test_mapping_rules); here they
are written to the endpoints table through the store directly, as an older release or a hand edit
would have, and every payload must then get a clear 422 rather than a 500 or a stall.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from session_ingest.adapters.endpoint_store import EndpointStore
from session_ingest.domain.models import EndpointConfig, MappingRules
from session_ingest.domain.tokens import issue_token
from session_ingest.service.dependencies import IngestDependencies
from tests.integration.ingest_api.conftest import QueueReader
from tests.support.ingest_api import ApiClient, FakeClock

UNUSABLE: list[tuple[str, dict[str, Any]]] = [
    ("schema: $ref loops", {"json_schema": {"$ref": "#"}}),
    ("schema: $ref dangles", {"json_schema": {"properties": {"session": {"$ref": "#/$defs/nope"}}}}),
    (
        "schema: pattern backtracks",
        {"json_schema": {"properties": {"session": {"properties": {"name": {"pattern": "^(a+)+$"}}}}}},
    ),
    ("mapping: result doubles", {"mapping": MappingRules(fields={"name": " | ".join(["[@, @]"] * 60)})}),
]


def _stored_endpoint(clock: FakeClock, settings: dict[str, Any]) -> ApiClient:
    config = EndpointConfig(
        endpoint_id=str(uuid.uuid4()), organisation="acme", event_id=42, created_at=clock.now(), **settings
    )
    token = issue_token()
    EndpointStore().create(config, token)
    return ApiClient(config.endpoint_id, token.token)


@pytest.mark.parametrize(("case", "settings"), UNUSABLE, ids=[case for case, _ in UNUSABLE])
@pytest.mark.parametrize("dry_run", [False, True], ids=["ingest", "test"])
def test_an_unusable_stored_configuration_is_a_422_per_request_not_a_500(
    deps: IngestDependencies,
    clock: FakeClock,
    queue: QueueReader,
    case: str,
    settings: dict[str, Any],
    dry_run: bool,
) -> None:
    # Given an endpoint whose stored schema or mapping would fail or stall every payload
    api = _stored_endpoint(clock, settings)
    # When a payload that would otherwise pass is posted
    result = api.post({"session": {"name": "a" * 40 + "!"}}, dry_run=dry_run)
    # Then it is refused with a 422 naming the configuration, and nothing is queued
    assert result.status == 422, result.body
    assert result.body["error_type"] == "validation_error"
    [detail] = result.body["details"]
    assert detail["field"] in {"$", "mapping"}
    assert queue.drain() == []
