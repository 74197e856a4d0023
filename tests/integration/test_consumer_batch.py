"""The consumer reads once per SQS batch (contract §6 kept): one batch read, one counter update, then one
conditional transaction per record; what the batch wrote is never read stale by a later record."""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from ingest_consumer_handler import lambda_handler
from ingestctl.local.template import CreatedResources
from session_ingest.envelope import IngestEnvelope
from session_ingest.errors import StoreUnavailable
from session_ingest.service.ports import SessionsSnapshot
from tests.support.aws_calls import counting_aws_calls
from tests.support.consumer import (
    FakeLambdaContext,
    accept_and_deliver,
    at,
    locations,
    make_envelope,
    outcome,
    queue_request,
    sqs_event,
    sqs_record,
    stored_sessions,
)

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def calls(aws: CreatedResources) -> Iterator[list[str]]:
    """The AWS calls the consumer's own clients make, by operation."""
    with counting_aws_calls() as made:
        yield made


def handle(*envelopes: IngestEnvelope, receive_count: int = 1) -> dict[str, Any]:
    """The handler on one SQS batch of these (already queued) requests."""
    event = sqs_event(
        *(sqs_record(e.model_dump_json(), e.request_id, receive_count=receive_count) for e in envelopes)
    )
    with contextlib.redirect_stdout(io.StringIO()):  # EMF lines
        response: dict[str, Any] = lambda_handler(event, FakeLambdaContext())
    return response


def queued(*records: dict[str, Any], seconds: float = 0) -> list[IngestEnvelope]:
    envelopes = [
        make_envelope(record, accepted_at=at(seconds + n / 1000)) for n, record in enumerate(records)
    ]
    for envelope in envelopes:
        queue_request(envelope)
    return envelopes


def test_a_batch_of_creates_reads_once_and_numbers_once(calls: list[str]) -> None:
    # Given 10 queued creates, each with a new organisation uid
    envelopes = queued(*({"organisation_uid": f"new-{n}", "name": f"S{n}"} for n in range(10)))
    calls.clear()
    # When the handler gets them as one batch
    response = handle(*envelopes)
    made = Counter(calls)
    # Then every session is created with its own number, from one read and one counter update
    assert response == {"batchItemFailures": []}
    assert made == Counter(
        {"dynamodb.BatchGetItem": 1, "dynamodb.UpdateItem": 1, "dynamodb.TransactWriteItems": 10}
    )
    created = sorted(s["resource_id"] for s in stored_sessions())
    assert created == sorted(f"acme/session/{n}" for n in range(1, 11))


def test_a_batch_of_updates_by_uid_reads_the_claims_then_their_sessions_once(calls: list[str]) -> None:
    # Given 10 sessions holding uids, and 10 queued updates by those uids
    for envelope in queued(*({"organisation_uid": f"u-{n}", "name": "old"} for n in range(10))):
        accept_and_deliver(envelope)
    updates = queued(*({"organisation_uid": f"u-{n}", "name": "new"} for n in range(10)), seconds=10)
    calls.clear()
    # When they arrive as one batch
    response = handle(*updates)
    made = Counter(calls)
    # Then every session is updated in place, from two batch reads (claims, then their sessions)
    assert response == {"batchItemFailures": []}
    assert made == Counter({"dynamodb.BatchGetItem": 2, "dynamodb.TransactWriteItems": 10})
    assert {s["name"] for s in stored_sessions()} == {"new"}
    assert len(stored_sessions()) == 10
    assert {outcome(e.request_id)["action"] for e in updates} == {"updated"}


def test_a_create_then_an_update_of_the_same_new_uid_in_one_batch_make_one_session() -> None:
    # Given a create of a new uid and, accepted after it, an update of the same uid, in one batch
    create, update = queued(
        {"organisation_uid": "fresh", "name": "first"}, {"organisation_uid": "fresh", "name": "second"}
    )
    # When the batch is handled
    response = handle(create, update)
    # Then the second found the session the first created (never the batch's stale read): one session
    assert response == {"batchItemFailures": []}
    (session,) = stored_sessions()
    assert session["name"] == "second"
    assert (outcome(create.request_id)["action"], outcome(update.request_id)["action"]) == (
        "created",
        "updated",
    )


def test_an_older_item_later_in_the_batch_never_overwrites_a_newer_one() -> None:
    # Given a session, then a batch whose first record is newer than its second for the same field
    (seed,) = queued({"organisation_uid": "k", "name": "seed"})
    accept_and_deliver(seed)
    newer, older = (
        make_envelope({"organisation_uid": "k", "name": "newer"}, accepted_at=at(20)),
        make_envelope({"organisation_uid": "k", "name": "older"}, accepted_at=at(10)),
    )
    for envelope in (newer, older):
        queue_request(envelope)
    # When the batch is handled
    assert handle(newer, older) == {"batchItemFailures": []}
    # Then the newer value stands (per-field last writer wins, as without batching)
    (session,) = stored_sessions()
    assert session["name"] == "newer"


def test_a_redelivered_batch_changes_nothing() -> None:
    # Given a batch that was processed
    envelopes = queued(*({"organisation_uid": f"r-{n}"} for n in range(3)))
    assert handle(*envelopes) == {"batchItemFailures": []}
    before = stored_sessions()
    # When SQS delivers it again
    response = handle(*envelopes, receive_count=2)
    # Then nothing changed: same sessions, same versions
    assert response == {"batchItemFailures": []}
    assert stored_sessions() == before


def test_locations_are_read_with_the_batch(calls: list[str]) -> None:
    # Given a location, and two creates naming it and one naming an unknown one
    location = locations().create("acme", 42, "Hall A", at(0))
    envelopes = queued(
        {"organisation_uid": "l-1", "location_resource_id": location["resource_id"]},
        {"organisation_uid": "l-2", "location_resource_id": location["resource_id"]},
        {"organisation_uid": "l-3", "location_resource_id": "acme/location/999"},
    )
    calls.clear()
    # When handled as one batch
    assert handle(*envelopes) == {"batchItemFailures": []}
    reads = calls.count("dynamodb.BatchGetItem")
    # Then the known location is set, the unknown one skipped with its warning, and all read at once
    by_uid = {s["organisation_uid"]: s for s in stored_sessions()}
    assert by_uid["l-1"]["location_resource_id"] == location["resource_id"]
    assert "location_resource_id" not in by_uid["l-3"]
    assert [w["code"] for w in outcome(envelopes[2].request_id)["warnings"]] == ["unknown_location"]
    assert reads == 1


def test_when_the_batch_read_fails_each_record_reads_for_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a sessions table whose multi-key read fails (one record's read, a key of each kind at most,
    # still works)
    from session_ingest.adapters.sessions_repo import SessionsRepository

    read_many = SessionsRepository.read_many

    def unavailable_for_many(self: Any, *keys: Any) -> SessionsSnapshot:
        if any(len(list(kind)) > 1 for kind in keys):
            raise StoreUnavailable("InternalServerError: injected")
        return read_many(self, *keys)

    monkeypatch.setattr(SessionsRepository, "read_many", unavailable_for_many)
    envelopes = queued(*({"organisation_uid": f"f-{n}"} for n in range(3)))
    # When a batch is handled
    response = handle(*envelopes)
    # Then every record was still processed, on its own reads
    assert response == {"batchItemFailures": []}
    assert len(stored_sessions()) == 3


def test_an_unreadable_message_fails_alone_and_the_others_use_the_batch_read() -> None:
    # Given a batch of two creates and a message that is not an envelope
    envelopes = queued({"organisation_uid": "ok-1"}, {"organisation_uid": "ok-2"})
    records = [sqs_record(e.model_dump_json(), e.request_id) for e in envelopes]
    poison = sqs_record("{not json", None, message_id="poison")
    # When handled
    with contextlib.redirect_stdout(io.StringIO()):
        response = lambda_handler(sqs_event(*records, poison), FakeLambdaContext())
    # Then only the unreadable one is reported failed
    assert response == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert len(stored_sessions()) == 2
