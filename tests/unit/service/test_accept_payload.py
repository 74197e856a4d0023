"""`accept_payload` against in-memory fakes of its ports: every branch, no AWS."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from session_ingest import limits
from session_ingest.adapters.endpoint_store import StoredEndpoint
from session_ingest.adapters.queue_publisher import QueueUnavailable
from session_ingest.domain.idempotency import IdempotencyClaim, sha256_hex
from session_ingest.domain.models import EndpointConfig, FailureKind, RequestStatus, StoredOutcome
from session_ingest.domain.rate_limit import RateWindow
from session_ingest.domain.tokens import StoredToken, issue_token
from session_ingest.errors import (
    EnqueueFailed,
    IdempotencyConflict,
    IdempotencyInProgress,
    RateLimited,
    StoreUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from session_ingest.service.dependencies import IngestDependencies
from session_ingest.service.ingest import IngestRequest, accept_payload, stage_acceptance
from session_ingest.service.match_preview import DryRunMatch
from session_ingest.service.ports import Exhausted
from session_ingest.service.request_outcomes import NOT_QUEUED_REASON
from tests.support.fakes import InMemoryEndpoints, InMemoryQueue, InMemoryRequestLedger, UnitsOfWork
from tests.support.ingest_api import FakeClock

T0 = datetime(2026, 6, 14, 12, 0, 10, tzinfo=UTC)
ENDPOINT_ID = "6f1d8a52-3c1e-4a57-9a57-0b8f2f7c1a10"
BODY = json.dumps({"session": {"name": "Opening keynote", "organisation_uid": "K-1"}})
LIMIT = 3


@dataclass
class World:
    deps: IngestDependencies
    ledger: InMemoryRequestLedger
    queue: InMemoryQueue
    units: UnitsOfWork
    clock: FakeClock
    authorization: str

    def post(self, body: str = BODY, key: str | None = None) -> IngestRequest:
        return IngestRequest(
            endpoint_id=ENDPOINT_ID,
            request_id=str(uuid.uuid4()),
            authorization=self.authorization,
            content_type="application/json",
            body=body,
            idempotency_key=key,
        )

    def window(self) -> RateWindow:
        return RateWindow.containing(ENDPOINT_ID, LIMIT, self.clock.now().timestamp())


def _never_previewed(*_: object) -> DryRunMatch:
    raise AssertionError("accept_payload never previews a match")


@pytest.fixture
def world() -> World:
    clock = FakeClock(T0)
    issued = issue_token()
    config = EndpointConfig(
        endpoint_id=ENDPOINT_ID, organisation="acme", event_id=42, rate_limit_per_minute=LIMIT, created_at=T0
    )
    token = StoredToken(issued.token_id, issued.secret_hash, T0)
    endpoints = InMemoryEndpoints({ENDPOINT_ID: StoredEndpoint(config, {issued.token_id: token})})
    ledger, queue, units = InMemoryRequestLedger(), InMemoryQueue(), UnitsOfWork()
    deps = IngestDependencies(
        clock=clock,
        endpoints=endpoints,
        ledger=ledger,
        preview_match=_never_previewed,
        unit_of_work=units,
        send=queue,
    )
    return World(deps, ledger, queue, units, clock, f"Bearer {issued.token}")


def test_an_accepted_request_is_stored_queued_counted_and_sent(world: World) -> None:
    # Given a valid payload  # When it is posted
    request = world.post()
    accepted = accept_payload(request, world.deps)
    # Then it is queued under its id, counted once, and its envelope sent
    assert (accepted.request_id, accepted.replayed) == (request.request_id, False)
    assert world.ledger.outcomes[request.request_id].status is RequestStatus.QUEUED
    assert world.ledger.counts[(ENDPOINT_ID, world.window().start)] == 1
    assert [envelope.request_id for envelope in world.queue.sent] == [request.request_id]
    assert list(world.units.made[0].items) == ["counter", "request"]


def test_a_bad_token_is_401_and_spends_nothing(world: World) -> None:
    world.authorization = "Bearer sit_" + "0" * 32 + "_" + "x" * 43
    with pytest.raises(Unauthenticated):
        accept_payload(world.post(), world.deps)
    assert world.ledger.calls == []


def test_an_invalid_payload_spends_its_unit_then_is_422(world: World) -> None:
    with pytest.raises(ValidationFailed):
        accept_payload(world.post(json.dumps({"session": {"sort_order": "not a number"}})), world.deps)
    assert world.ledger.calls == ["consume"]
    assert world.ledger.counts[(ENDPOINT_ID, world.window().start)] == 1


def test_an_invalid_payload_is_422_even_when_the_counter_is_down(world: World) -> None:
    # Given the rate counter cannot be written (fail open: nothing is stored anyway)
    world.ledger.unavailable.add("consume")
    with pytest.raises(ValidationFailed):
        accept_payload(world.post(json.dumps([1])), world.deps)


def test_an_invalid_payload_over_the_limit_is_429(world: World) -> None:
    world.ledger.counts[(ENDPOINT_ID, world.window().start)] = LIMIT
    with pytest.raises(RateLimited):
        accept_payload(world.post(json.dumps([1])), world.deps)


def test_a_full_window_is_429_and_stores_nothing(world: World) -> None:
    # Given the shared counter is at the limit (written by other instances)
    world.ledger.counts[(ENDPOINT_ID, world.window().start)] = LIMIT
    # When a valid payload is posted  # Then 429, nothing stored or sent, and the count is now known
    with pytest.raises(RateLimited):
        accept_payload(world.post(), world.deps)
    assert world.ledger.outcomes == {}
    assert world.queue.sent == []
    assert world.deps.known_counts.is_exhausted(world.window())


def test_a_store_outage_is_a_retryable_failure(world: World) -> None:
    world.units.script.append(StoreUnavailable("down"))
    with pytest.raises(EnqueueFailed):
        accept_payload(world.post(), world.deps)
    assert world.queue.sent == []


def test_contention_past_the_retries_is_a_retryable_failure(world: World) -> None:
    world.units.script.append(Exhausted({"counter": "TransactionConflict"}))
    with pytest.raises(EnqueueFailed):
        accept_payload(world.post(), world.deps)
    assert world.queue.sent == []


def test_a_failed_send_marks_the_request_not_queued_and_releases_its_key(world: World) -> None:
    # Given the queue refuses the message
    world.queue.failure = QueueUnavailable("InternalError")
    request = world.post(key="order-1")
    # When it is posted  # Then a retryable failure; the outcome says why, as data; the key is free again
    with pytest.raises(EnqueueFailed):
        accept_payload(request, world.deps)
    stored = world.ledger.outcomes[request.request_id]
    assert (stored.status, stored.failure_kind) == (RequestStatus.FAILED, FailureKind.NOT_QUEUED)
    assert stored.errors == [NOT_QUEUED_REASON]
    assert world.ledger.claims == {}


def _post_while_the_queue_refuses(world: World, ledger_down: str) -> IngestRequest:
    """Post with a key while SQS refuses the message and the ledger method `ledger_down` fails too; the
    answer must be the retryable EnqueueFailed."""
    world.queue.failure = QueueUnavailable("InternalError")
    world.ledger.unavailable.add(ledger_down)
    request = world.post(key="order-1")
    with pytest.raises(EnqueueFailed):
        accept_payload(request, world.deps)
    world.queue.failure, world.ledger.unavailable = None, set()
    return request


def test_a_failed_send_whose_key_cannot_be_released_is_still_a_retryable_failure(world: World) -> None:
    # Given the queue refuses the message and the key cannot be given back  # When it is posted
    request = _post_while_the_queue_refuses(world, "release_claim")
    # Then a retryable failure, with the request recorded not queued
    assert world.ledger.outcomes[request.request_id].failure_kind is FailureKind.NOT_QUEUED


def test_a_failed_send_that_cannot_be_recorded_keeps_the_key(world: World) -> None:
    # Given the queue refuses the message and the not-queued record cannot be written either
    # When it is posted
    request = _post_while_the_queue_refuses(world, "mark_not_queued")
    # Then the request still reads queued, and its key stays claimed by it (not released to a new request)
    assert world.ledger.outcomes[request.request_id].status is RequestStatus.QUEUED
    [(claim, _)] = world.ledger.claims.values()
    assert (claim.request_id, claim.queued) == (request.request_id, False)


def test_a_retry_of_a_send_that_could_not_be_recorded_resumes_the_same_request(world: World) -> None:
    # Given a failed send whose not-queued record could not be written (the request reads queued)
    first = _post_while_the_queue_refuses(world, "mark_not_queued")
    # When the client retries with its key: first while the claim is in flight, then after it goes stale
    with pytest.raises(IdempotencyInProgress):
        accept_payload(world.post(key="order-1"), world.deps)
    world.clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    resumed = accept_payload(world.post(key="order-1"), world.deps)
    # Then the first request is sent under its own id, and no second request exists
    assert resumed.request_id == first.request_id
    assert [envelope.request_id for envelope in world.queue.sent] == [first.request_id]
    assert list(world.ledger.outcomes) == [first.request_id]


def test_a_key_that_cannot_be_confirmed_after_the_send_still_answers_accepted(world: World) -> None:
    world.ledger.unavailable.add("confirm_claim")
    accepted = accept_payload(world.post(key="order-1"), world.deps)
    assert not accepted.replayed
    assert len(world.queue.sent) == 1


def test_a_repeat_of_a_queued_key_is_replayed_without_a_send(world: World) -> None:
    first = accept_payload(world.post(key="order-1"), world.deps)
    again = accept_payload(world.post(key="order-1"), world.deps)
    assert (again.request_id, again.replayed) == (first.request_id, True)
    assert len(world.queue.sent) == 1


def test_a_key_reused_with_another_body_is_a_conflict(world: World) -> None:
    accept_payload(world.post(key="order-1"), world.deps)
    with pytest.raises(IdempotencyConflict):
        accept_payload(world.post(json.dumps({"session": {"name": "other"}}), key="order-1"), world.deps)


def _died_before_sending(world: World) -> IdempotencyClaim:
    """What a Lambda that stored its request and claim, then died before the send, leaves behind."""
    request_id = str(uuid.uuid4())
    claim = IdempotencyClaim(ENDPOINT_ID, sha256_hex("order-1"), sha256_hex(BODY), request_id)
    outcome = StoredOutcome(
        request_id=request_id, endpoint_id=ENDPOINT_ID, status=RequestStatus.QUEUED, accepted_at=T0
    )
    stage_acceptance(world.deps, outcome, world.window(), claim).commit()
    return claim


def test_a_repeat_while_the_first_is_in_flight_is_told_to_retry(world: World) -> None:
    _died_before_sending(world)
    with pytest.raises(IdempotencyInProgress):
        accept_payload(world.post(key="order-1"), world.deps)


def test_an_abandoned_request_is_finished_under_its_own_id(world: World) -> None:
    # Given a request that died before its send  # When repeated after the in-flight period
    dead = _died_before_sending(world)
    world.clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    resumed = accept_payload(world.post(key="order-1"), world.deps)
    # Then it is sent under its first id, and its key confirmed
    assert (resumed.request_id, resumed.replayed) == (dead.request_id, True)
    assert [envelope.request_id for envelope in world.queue.sent] == [dead.request_id]
    assert world.queue.sent[0].accepted_at == T0
    assert world.ledger.claims[(ENDPOINT_ID, dead.key_sha256)][0].queued


def test_an_abandoned_request_never_queued_is_stored_queued_again(world: World) -> None:
    dead = _died_before_sending(world)
    world.ledger.mark_not_queued(dead.request_id, NOT_QUEUED_REASON)
    world.clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    accept_payload(world.post(key="order-1"), world.deps)
    assert world.ledger.outcomes[dead.request_id].status is RequestStatus.QUEUED
    assert world.ledger.outcomes[dead.request_id].failure_kind is None


def test_an_abandoned_request_already_processed_is_not_sent_again(world: World) -> None:
    dead = _died_before_sending(world)
    stored = world.ledger.outcomes[dead.request_id]
    world.ledger.outcomes[dead.request_id] = stored.model_copy(update={"status": RequestStatus.PROCESSED})
    world.clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    resumed = accept_payload(world.post(key="order-1"), world.deps)
    assert resumed.request_id == dead.request_id
    assert world.queue.sent == []


def test_an_abandoned_request_another_repeat_is_resuming_is_told_to_retry(world: World) -> None:
    # Given the abandoned request's outcome is gone, and another repeat stores it first
    dead = _died_before_sending(world)
    del world.ledger.outcomes[dead.request_id]
    world.clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    original_reopen = world.ledger.reopen

    def lose_the_race(outcome: StoredOutcome) -> bool:
        original_reopen(outcome)  # the other repeat
        return original_reopen(outcome)

    world.ledger.reopen = lose_the_race  # type: ignore[method-assign]
    with pytest.raises(IdempotencyInProgress):
        accept_payload(world.post(key="order-1"), world.deps)


def test_an_abandoned_request_that_cannot_be_resumed_is_a_retryable_failure(world: World) -> None:
    _died_before_sending(world)
    world.clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    world.ledger.unavailable.add("get")
    with pytest.raises(EnqueueFailed):
        accept_payload(world.post(key="order-1"), world.deps)
