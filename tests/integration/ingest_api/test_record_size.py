"""A record that could never be stored is refused at accept time (422), not accepted then lost."""

from __future__ import annotations

import json

from ingestctl.admin.endpoints import create_endpoint
from session_ingest import limits
from session_ingest.service.dependencies import IngestDependencies
from tests.integration.ingest_api.conftest import QueueReader
from tests.support.ingest_api import ApiClient, FakeClock

LONG_TEXT = "€" * limits.MAX_MULTI_LINE_TEXT_CHARS  # 196,605 bytes: a body within the 256 KiB limit


def test_a_record_larger_than_a_stored_session_may_be_is_a_422_and_nothing_is_queued(
    deps: IngestDependencies, clock: FakeClock, queue: QueueReader
) -> None:
    # Given an endpoint whose mapping copies one long text into several long-text fields
    fields = dict.fromkeys(("description", "card_content", "eventapp_promo_text"), "text")
    created = create_endpoint("acme", 42, mapping={"fields": fields}, clock=clock)
    api = ApiClient(created["endpoint_id"], created["token"])
    # When a body within the size limit maps to a record no DynamoDB item could hold
    result = api.post(json.dumps({"session": {"text": LONG_TEXT}}, ensure_ascii=False))
    # Then it is refused at once, saying so, and nothing is queued
    assert result.status == 422, result.body
    [detail] = result.body["details"]
    assert detail["field"] == "$"
    assert f"{limits.MAX_STORED_SESSION_BYTES:,}" in detail["message"]
    assert queue.drain() == []


def test_the_same_text_in_one_field_is_accepted(deps: IngestDependencies, clock: FakeClock) -> None:
    # Given the default mapping / When the long text fills one field / Then it is accepted
    created = create_endpoint("acme", 42, clock=clock)
    api = ApiClient(created["endpoint_id"], created["token"])
    assert api.post(json.dumps({"session": {"description": LONG_TEXT}}, ensure_ascii=False)).status == 200
