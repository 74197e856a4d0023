"""The consumer Lambda handler: every events/sqs_*.json file, partial batch responses, observability."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest_consumer_handler import lambda_handler
from ingestctl.local.template import CreatedResources
from session_ingest.envelope import IngestEnvelope
from session_ingest.observability import logger, metrics
from tests.support.consumer import (
    T0,
    FakeLambdaContext,
    accept_and_deliver,
    make_envelope,
    outcome,
    queue_request,
    sqs_event,
    sqs_record,
    stored_sessions,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
EARLIER = T0 - timedelta(hours=1)


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def _load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def _queue_readable_requests(event: dict[str, Any]) -> list[IngestEnvelope]:
    """Write the `queued` outcome of every readable message in the event, as the ingest API did."""
    envelopes = []
    for record in event["Records"]:
        try:
            envelope = IngestEnvelope.model_validate_json(record["body"])
        except ValueError:
            continue
        queue_request(envelope)
        envelopes.append(envelope)
    return envelopes


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = lambda_handler(event, FakeLambdaContext())
    return response


def test_event_create_session_creates_it(aws: CreatedResources) -> None:
    # Given the create event and its queued request
    event = _load("sqs_create_session.json")
    (envelope,) = _queue_readable_requests(event)
    # When the handler processes it
    response = _invoke(event)
    # Then no item failed, the session exists and the outcome says created
    assert response == {"batchItemFailures": []}
    (session,) = stored_sessions()
    assert (session["organisation_uid"], session["name"]) == ("cms-100", "Opening keynote")
    assert outcome(envelope.request_id)["action"] == "created"


def test_event_update_by_organisation_uid_updates_the_session_holding_it(aws: CreatedResources) -> None:
    # Given a session holding uid cms-200, stored an hour before the event's request
    accept_and_deliver(
        make_envelope({"organisation_uid": "cms-200", "name": "Closing keynote"}, accepted_at=EARLIER)
    )
    event = _load("sqs_update_by_organisation_uid.json")
    (envelope,) = _queue_readable_requests(event)
    # When the handler processes the update
    response = _invoke(event)
    # Then that session has the new name and start time
    assert response == {"batchItemFailures": []}
    (session,) = stored_sessions()
    assert (session["name"], session["start_time"]) == ("Closing keynote (moved)", "2026-06-16T16:30:00Z")
    assert outcome(envelope.request_id)["action"] == "updated"


def test_event_update_by_resource_id_updates_that_session(aws: CreatedResources) -> None:
    # Given session acme/session/1
    accept_and_deliver(make_envelope({"name": "Workshop"}, accepted_at=EARLIER))
    event = _load("sqs_update_by_resource_id.json")
    (envelope,) = _queue_readable_requests(event)
    # When the handler processes the update naming it
    response = _invoke(event)
    # Then it is updated and its other fields are kept
    assert response == {"batchItemFailures": []}
    (session,) = stored_sessions()
    assert (session["name"], session["description"]) == ("Workshop", "Now with live captions")
    assert outcome(envelope.request_id)["resource_id"] == "acme/session/1"


def test_event_duplicate_organisation_uid_applies_the_change_and_warns(
    aws: CreatedResources, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given session 1 holding uid cms-300 and session 2 holding none
    accept_and_deliver(make_envelope({"organisation_uid": "cms-300", "name": "one"}, accepted_at=EARLIER))
    accept_and_deliver(make_envelope({"name": "two"}, accepted_at=EARLIER))
    event = _load("sqs_duplicate_organisation_uid.json")
    (envelope,) = _queue_readable_requests(event)
    capsys.readouterr()
    # When the handler gives session 2 the same uid
    response = _invoke(event)
    # Then both carry it, the outcome warns and the metric is emitted
    assert response == {"batchItemFailures": []}
    assert [session.get("organisation_uid") for session in stored_sessions()] == ["cms-300", "cms-300"]
    assert [w["code"] for w in outcome(envelope.request_id)["warnings"]] == ["duplicate_organisation_uid"]
    assert "DuplicateOrganisationUid" in capsys.readouterr().out


def test_event_poison_message_fails_alone(aws: CreatedResources) -> None:
    # Given a batch of a readable message and a truncated one
    event = _load("sqs_poison_message.json")
    (healthy,) = _queue_readable_requests(event)
    poison = event["Records"][1]
    # When the handler processes the batch
    response = _invoke(event)
    # Then only the poison message is reported failed; its neighbour is processed
    assert response == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
    assert outcome(healthy.request_id)["status"] == "processed"


def test_a_batch_of_ten_with_one_poison_message_reports_only_it(aws: CreatedResources) -> None:
    # Given nine readable messages and one that is not JSON, in one batch
    envelopes = [make_envelope({"organisation_uid": f"batch-{i}", "name": f"s{i}"}) for i in range(9)]
    for envelope in envelopes:
        queue_request(envelope)
    records = [sqs_record(envelope.model_dump_json(), envelope.request_id) for envelope in envelopes]
    poison = sqs_record("\x00 not an envelope", "poison-request")
    records.insert(4, poison)
    # When the handler processes the batch
    response = _invoke(sqs_event(*records))
    # Then only the poison message failed, and all nine sessions exist
    assert response == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
    assert len(stored_sessions()) == 9


def test_a_batch_where_every_message_fails_still_answers_with_item_failures(aws: CreatedResources) -> None:
    # Given a batch holding only an unreadable message
    poison = sqs_record("{", None)
    # When the handler processes it
    response = _invoke(sqs_event(poison))
    # Then it answers (no exception) naming the message
    assert response == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}


def test_log_lines_carry_the_request_id_as_correlation_id(aws: CreatedResources) -> None:
    # Given a queued request, and the service's log stream captured
    envelope = make_envelope({"name": "s"})
    queue_request(envelope)
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    # When the handler processes its message
    try:
        _invoke(sqs_event(sqs_record(envelope.model_dump_json(), envelope.request_id)))
    finally:
        handler.setStream(previous)
    # Then the consumer's JSON log lines carry the request id as correlation id
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    created = next(line for line in lines if line["message"] == "session created")
    assert created["correlation_id"] == envelope.request_id


def test_metrics_are_flushed_per_invocation(
    aws: CreatedResources, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a queued create
    envelope = make_envelope({"name": "s"})
    queue_request(envelope)
    # When the handler processes it
    _invoke(sqs_event(sqs_record(envelope.model_dump_json(), envelope.request_id)))
    # Then one EMF blob carries SessionsCreated and the accept-to-processed latency
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    flushed = next(blob for blob in blobs if "SessionsCreated" in blob)
    assert flushed["SessionsCreated"] == [1.0]
    assert flushed["AcceptToProcessedLatency"][0] > 0
    units = {m["Name"]: m["Unit"] for m in flushed["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["AcceptToProcessedLatency"] == "Milliseconds"
