"""The largest request the API accepts always fits in one SQS message and one DynamoDB item."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ingestctl.local.template import resolved_resources
from session_ingest import limits
from session_ingest.domain.models import EndpointType, IngestWarning
from session_ingest.domain.record_types import MAX_NAME_IN_MESSAGE_CHARS
from session_ingest.domain.sessions import stored_size_bytes
from session_ingest.envelope import IngestEnvelope
from session_ingest.service.process import QueueMessage, read_envelope

RESOURCES = resolved_resources()


@pytest.mark.parametrize("queue", ["IngestQueue", "IngestDeadLetterQueue"])
def test_the_queues_set_their_maximum_message_size_explicitly(queue: str) -> None:
    # Given each queue of the template / Then its message size limit is the one the code budgets for
    assert int(RESOURCES[queue]["Properties"]["MaximumMessageSize"]) == limits.MAX_QUEUE_MESSAGE_BYTES


def _largest_record() -> dict[str, Any]:
    """A record of 4-byte characters, as large as an accepted record may be."""
    record: dict[str, Any] = {"name": "Largest", "description": ""}
    record["description"] = "😀" * ((limits.MAX_STORED_SESSION_BYTES - stored_size_bytes(record)) // 4)
    assert limits.MAX_STORED_SESSION_BYTES - 4 < stored_size_bytes(record) <= limits.MAX_STORED_SESSION_BYTES
    return record


def _longest_warnings() -> list[IngestWarning]:
    field = "f" * (MAX_NAME_IN_MESSAGE_CHARS + 1)
    message = "m" * 300  # longer than any warning message the mapper writes
    return [IngestWarning(code="unknown_field", field=field, message=message)] * (
        limits.MAX_WARNINGS_PER_RECORD + 1
    )


def _envelope(record: dict[str, Any], **extra: Any) -> IngestEnvelope:
    return IngestEnvelope(
        request_id="0" * 36,
        endpoint_id="0" * 36,
        organisation="o" * 63,
        event_id=limits.MAX_SAFE_INTEGER,
        endpoint_type=EndpointType.SESSION,
        accepted_at=datetime(2026, 6, 14, tzinfo=UTC),
        record=record,
        warnings=_longest_warnings(),
        **extra,
    )


def test_the_largest_accepted_record_fits_one_message() -> None:
    # Given the largest record the API accepts, with every warning it may carry
    envelope = _envelope(_largest_record())
    # When it is serialised as the API sends it / Then it fits the queue's message size
    assert len(envelope.model_dump_json().encode()) <= limits.MAX_QUEUE_MESSAGE_BYTES


def test_a_version_1_envelope_with_the_largest_body_beside_its_record_still_fits_and_is_read() -> None:
    # Given a version 1 message (from before the upgrade) carrying the largest body beside the record
    payload = {"session": {"description": "d" * (limits.MAX_BODY_BYTES - 32)}}
    envelope = _envelope(_largest_record(), payload=payload, schema_version=1)
    body = envelope.model_dump_json()
    # Then it fits, and the consumer still reads it
    assert len(body.encode()) <= limits.MAX_QUEUE_MESSAGE_BYTES
    assert read_envelope(QueueMessage(body, envelope.request_id)).record == envelope.record
