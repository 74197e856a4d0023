"""`process_message` against in-memory fakes of its ports: every branch, no AWS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from session_ingest import limits
from session_ingest.domain.models import EndpointType, FailureKind, RequestStatus, StoredOutcome
from session_ingest.domain.sessions import StoredSession, UidClaim
from session_ingest.envelope import IngestEnvelope
from session_ingest.errors import (
    TransientFailure,
    UnreadableMessage,
    WriteConflict,
    WriteRejected,
)
from session_ingest.service.dependencies import ConsumerDependencies
from session_ingest.service.ports import ConditionFailed, Exhausted
from session_ingest.service.process import (
    STORE_UNAVAILABLE_REASON,
    UNEXPECTED_REASON,
    WRITE_REJECTED_REASON,
    ProcessStatus,
    QueueMessage,
    process_message,
)
from tests.support.fakes import InMemoryRequestLedger, InMemorySessions, UnitsOfWork
from tests.support.ingest_api import FakeClock

T0 = datetime(2026, 6, 14, 12, 0, tzinfo=UTC)
ENDPOINT_ID = "6f1d8a52-3c1e-4a57-9a57-0b8f2f7c1a10"
MAX_RECEIVES = 5


@dataclass
class World:
    deps: ConsumerDependencies
    ledger: InMemoryRequestLedger
    sessions: InMemorySessions
    units: UnitsOfWork
    slept: list[float]

    def queued(self, record: dict[str, object], request_id: str = "r-1") -> IngestEnvelope:
        """An envelope whose request the API stored `queued`."""
        envelope = IngestEnvelope(
            request_id=request_id,
            endpoint_id=ENDPOINT_ID,
            organisation="acme",
            event_id=42,
            endpoint_type=EndpointType.SESSION,
            accepted_at=T0,
            payload={"session": record},
            record=record,
        )
        self.ledger.outcomes[request_id] = StoredOutcome(
            request_id=request_id, endpoint_id=ENDPOINT_ID, status=RequestStatus.QUEUED, accepted_at=T0
        )
        return envelope

    def outcome(self, request_id: str = "r-1") -> StoredOutcome:
        return self.ledger.outcomes[request_id]


def message(envelope: IngestEnvelope, receive_count: int = 1) -> QueueMessage:
    return QueueMessage(envelope.model_dump_json(), envelope.request_id, receive_count)


@pytest.fixture
def world() -> World:
    ledger, sessions, units = InMemoryRequestLedger(), InMemorySessions(), UnitsOfWork()
    slept: list[float] = []
    deps = ConsumerDependencies(
        sessions=sessions,
        ledger=ledger,
        clock=FakeClock(T0),
        unit_of_work=units,
        sleep=slept.append,
        max_receive_count=MAX_RECEIVES,
    )
    return World(deps, ledger, sessions, units, slept)


def _holding_uid(world: World, uid: str = "K-1") -> None:
    world.sessions.sessions[(42, 1)] = StoredSession(42, 1, "acme/session/1", 1, {"organisation_uid": uid})
    world.sessions.claims[(42, uid)] = UidClaim(uid, (1,), 1)
    world.sessions.counters[("acme", "session")] = 1


def test_a_new_record_creates_a_session_and_the_outcome_says_so(world: World) -> None:
    # Given a queued request for a uid no session holds  # When its message is processed
    result = process_message(message(world.queued({"organisation_uid": "K-1", "name": "A"})), world.deps)
    # Then a session and its uid claim are written with the outcome, in one unit of work
    assert (result.status, result.resource_id) == (ProcessStatus.CREATED, "acme/session/1")
    assert world.sessions.claims[(42, "K-1")].holders == (1,)
    assert (world.outcome().status, world.outcome().action) == (RequestStatus.PROCESSED, "created")
    assert list(world.units.made[0].items) == ["request", "session", "claim:K-1"]


def test_a_record_with_a_known_uid_updates_that_session(world: World) -> None:
    _holding_uid(world)
    result = process_message(message(world.queued({"organisation_uid": "K-1", "name": "B"})), world.deps)
    assert (result.status, result.resource_id) == (ProcessStatus.UPDATED, "acme/session/1")
    assert world.sessions.sessions[(42, 1)].fields["name"] == "B"
    assert world.outcome().action == "updated"


def test_a_redelivery_of_a_final_request_changes_nothing(world: World) -> None:
    # Given a request already processed
    envelope = world.queued({"name": "A"})
    process_message(message(envelope), world.deps)
    # When its message is delivered again  # Then nothing is read from sessions or written
    result = process_message(message(envelope, receive_count=2), world.deps)
    assert (result.status, result.resource_id) == (ProcessStatus.ALREADY_FINAL, "acme/session/1")
    assert len(world.units.made) == 1


def test_a_redelivery_that_finds_the_request_queued_processes_it(world: World) -> None:
    result = process_message(message(world.queued({"name": "A"}), receive_count=2), world.deps)
    assert result.status is ProcessStatus.CREATED


def test_a_concurrent_delivery_that_finalised_first_is_found_by_the_commit(world: World) -> None:
    # Given another consumer finalises the request between this one's check and its commit
    processed = {
        "status": "processed",
        "resource_id": "acme/session/7",
        "request_id": "r-1",
        "endpoint_id": ENDPOINT_ID,
        "accepted_at": T0.isoformat(),
    }
    world.units.script.append(ConditionFailed({"request": processed}))
    # When processed  # Then the redelivery is recognised by the outcome item's name
    result = process_message(message(world.queued({"name": "A"})), world.deps)
    assert (result.status, result.resource_id) == (ProcessStatus.ALREADY_FINAL, "acme/session/7")


def test_a_create_that_loses_its_number_draws_another(world: World) -> None:
    # Given the first number drawn is taken (the session item's condition fails)
    world.units.script.append(ConditionFailed({"session": None}))
    # When processed  # Then it backs off, re-reads and creates with the next number
    result = process_message(message(world.queued({"name": "A"})), world.deps)
    assert (result.status, result.resource_id) == (ProcessStatus.CREATED, "acme/session/2")
    assert len(world.slept) == 1


def test_a_lost_race_on_a_claim_re_reads_and_keeps_its_number(world: World) -> None:
    world.units.script.append(ConditionFailed({"claim:K-1": None}))
    result = process_message(message(world.queued({"organisation_uid": "K-1"})), world.deps)
    assert (result.status, result.resource_id) == (ProcessStatus.CREATED, "acme/session/1")


def test_writes_that_keep_losing_are_left_for_redelivery(world: World) -> None:
    # Given every commit is cancelled by contention
    world.units.script.extend([Exhausted({"session": "TransactionConflict"})] * limits.MAX_WRITE_ATTEMPTS)
    # When processed  # Then a transient failure after the bounded attempts, the reason on the outcome
    with pytest.raises(WriteConflict):
        process_message(message(world.queued({"name": "A"})), world.deps)
    assert world.outcome().status is RequestStatus.QUEUED
    assert "write attempts" in (world.outcome().last_error or "")


@pytest.mark.parametrize("record", [{"version": 3}, {"resource_id": "other/session/1"}])
def test_a_record_that_can_never_apply_fails_as_invalid(world: World, record: dict[str, object]) -> None:
    # Given a record setting a reserved attribute, or naming another organisation's session
    result = process_message(message(world.queued(record)), world.deps)
    assert result.status is ProcessStatus.FAILED
    assert (world.outcome().status, world.outcome().failure_kind) == (
        RequestStatus.FAILED,
        FailureKind.INVALID,
    )
    assert world.outcome().errors


def test_a_write_the_store_refuses_fails_the_request(world: World) -> None:
    world.units.script.append(WriteRejected("ValidationError: item too large"))
    result = process_message(message(world.queued({"name": "A"})), world.deps)
    assert result.status is ProcessStatus.FAILED
    assert world.outcome().failure_kind is FailureKind.INVALID
    # And its outcome gives a stable reason code, never AWS's own text (that stays in the logs)
    assert world.outcome().errors == [f"{WRITE_REJECTED_REASON} [ValidationError]"]


def test_an_envelope_that_does_not_validate_fails_its_request(world: World) -> None:
    world.queued({"name": "A"})
    body = json.dumps({"request_id": "r-1", "event_id": "not a number"})
    result = process_message(QueueMessage(body, "r-1"), world.deps)
    assert result.status is ProcessStatus.FAILED
    assert world.outcome().errors[0].startswith("invalid envelope")


def test_an_unreadable_message_is_kept_with_its_reason(world: World) -> None:
    world.queued({"name": "A"})
    with pytest.raises(UnreadableMessage):
        process_message(QueueMessage("{not json", "r-1"), world.deps)
    assert world.outcome().status is RequestStatus.QUEUED
    assert (world.outcome().last_error or "").startswith("body is not JSON")
    assert world.outcome().delivery_attempts == 1


def test_an_unreadable_message_without_a_request_id_records_nothing(world: World) -> None:
    with pytest.raises(UnreadableMessage):
        process_message(QueueMessage("[]", None), world.deps)
    assert world.ledger.calls == []


def test_a_store_outage_is_transient_with_its_reason_recorded(world: World) -> None:
    world.sessions.unavailable.add("read_many")
    with pytest.raises(TransientFailure, match="store_unavailable"):
        process_message(message(world.queued({"name": "A"})), world.deps)
    # its outcome records a stable reason code, never AWS's own text (that stays in the logs)
    assert (world.outcome().last_error or "").startswith(STORE_UNAVAILABLE_REASON)
    assert "injected outage" not in str(world.outcome().model_dump())


def test_a_failure_that_cannot_be_recorded_still_leaves_the_message_for_redelivery(world: World) -> None:
    world.sessions.unavailable.add("read_many")
    world.ledger.unavailable.add("note_retry")
    with pytest.raises(TransientFailure):
        process_message(message(world.queued({"name": "A"})), world.deps)


def test_a_defect_is_re_raised_with_its_reason_recorded(world: World) -> None:
    world.units.script.append(RuntimeError("bug"))
    with pytest.raises(RuntimeError):
        process_message(message(world.queued({"name": "A"})), world.deps)
    assert world.outcome().last_error == "unexpected RuntimeError: bug"


def test_a_failure_on_the_last_allowed_receive_dead_letters_the_request(world: World) -> None:
    # Given a message on its last receive before SQS moves it to the DLQ
    world.queued({"name": "A"})
    # When it fails again
    with pytest.raises(UnreadableMessage):
        process_message(QueueMessage("{not json", "r-1", MAX_RECEIVES), world.deps)
    # Then its outcome is failed, dead-lettered, with the reason
    stored = world.outcome()
    assert (stored.status, stored.failure_kind) == (RequestStatus.FAILED, FailureKind.DEAD_LETTERED)
    assert stored.errors[0].startswith("dead-lettered: body is not JSON")


def test_a_failure_before_the_last_receive_leaves_the_request_queued(world: World) -> None:
    world.queued({"name": "A"})
    with pytest.raises(UnreadableMessage):
        process_message(QueueMessage("{not json", "r-1", MAX_RECEIVES - 1), world.deps)
    assert world.outcome().status is RequestStatus.QUEUED


def test_a_message_for_a_request_the_api_never_stored_writes_its_outcome_whole(world: World) -> None:
    envelope = world.queued({"name": "A"}, request_id="r-2")
    del world.ledger.outcomes["r-2"]
    result = process_message(message(envelope), world.deps)
    assert result.status is ProcessStatus.CREATED
    assert world.outcome("r-2").endpoint_id == ENDPOINT_ID


def test_an_envelope_of_an_unknown_endpoint_type_fails_its_request(world: World) -> None:
    envelope = world.queued({"name": "A"})
    body = json.loads(envelope.model_dump_json())
    body["endpoint_type"] = "person"
    result = process_message(QueueMessage(json.dumps(body), "r-1"), world.deps)
    assert result.status is ProcessStatus.FAILED


def test_a_defect_on_the_last_receive_shows_its_integrator_a_code_not_its_text(world: World) -> None:
    # Given a defect whose message holds AWS-looking text, on the message's last allowed receive
    world.units.script.append(RuntimeError("arn:aws:iam::123456789012:role/consumer denied"))
    # When it is processed
    with pytest.raises(RuntimeError):
        process_message(message(world.queued({"name": "A"}), receive_count=MAX_RECEIVES), world.deps)
    # Then the dead-lettered outcome's errors (what the integrator reads) hold a stable code only
    assert world.outcome().failure_kind is FailureKind.DEAD_LETTERED
    assert all("123456789012" not in error for error in world.outcome().errors)
    assert any(UNEXPECTED_REASON in error for error in world.outcome().errors)
