"""Use case: accept a batch of payloads (contract §4b), each valid item its own request, in few AWS calls.

Checks run in the single call's order (service.ingest): size (413, 1 MiB here) and media type (415), the
token (401), the endpoint's state (404), the rate limit (429, one unit per batch), the Idempotency-Key
and the JSON (400), the `items` array (422); then every item is judged exactly as a single body is.

A full batch of 100 valid items costs 12 AWS calls (13 with an Idempotency-Key): two transactions for the
rate counter, the key's claim and the 100 `queued` outcomes (DynamoDB takes 100 items a transaction),
ten SendMessageBatch calls, and the key's progress. An item is answered `queued` only once SQS took it;
what SQS did not take is marked not queued in the ledger and answered `retry` (503), and the key's claim
remembers which items are queued, so a retry with the same key queues only the others, under the
request ids and accept times they were first given.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from session_ingest import limits
from session_ingest.adapters.queue_publisher import QueueUnavailable
from session_ingest.domain.batch import (
    BatchClaim,
    BatchItem,
    ItemStatus,
    StoredBatchClaim,
    batch_items,
    batch_status,
    item_accept_time,
    judge_batch_repeat,
    judge_items,
)
from session_ingest.domain.idempotency import Repeat, sha256_hex, validated_key
from session_ingest.domain.models import EndpointConfig, StoredOutcome
from session_ingest.domain.rate_limit import RateLimitState, RateWindow
from session_ingest.domain.request_lifecycle import RequestStatus
from session_ingest.envelope import IngestEnvelope
from session_ingest.errors import (
    EnqueueFailed,
    FieldError,
    IdempotencyConflict,
    IdempotencyInProgress,
    StoreError,
)
from session_ingest.observability import logger
from session_ingest.service.api_metrics import record_accepted, record_rejected, record_replayed
from session_ingest.service.dependencies import IngestDependencies, ingest_dependencies
from session_ingest.service.ingest import (
    COUNTER,
    IDEMPOTENCY_KEY,
    IngestRequest,
    admit,
    counted_when_refused,
    known_rate_state,
    refuse_when_counter_full,
    spend_rate_unit,
)
from session_ingest.service.ports import Committed, ConditionFailed
from session_ingest.service.request_outcomes import fail_not_queued, may_accept_again


# The batch's first unit of work names its counter and claim as a single request's does (COUNTER,
# IDEMPOTENCY_KEY), and its request items `request_item(index)`.
def request_item(index: int) -> str:
    return f"request:{index}"


@dataclass(frozen=True)
class ItemResult:
    """One entry of the answer's `results`."""

    index: int
    status: ItemStatus
    request_id: str | None = None
    error_type: str | None = None
    details: tuple[FieldError, ...] = ()


@dataclass(frozen=True)
class BatchAnswer:
    results: list[ItemResult]
    rate: RateLimitState
    replayed: bool = False

    @property
    def status(self) -> int:
        return batch_status([result.status for result in self.results])


@dataclass(frozen=True)
class _ScreenedBatch:
    config: EndpointConfig
    window: RateWindow
    raw: bytes
    items: list[BatchItem]
    idempotency_key: str | None


def accept_batch(request: IngestRequest, deps: IngestDependencies | None = None) -> BatchAnswer:
    """Validate every item, store and queue the valid ones; the answer says what became of each."""
    deps = deps or ingest_dependencies()
    screened = _screen(deps, request)
    if not any(item.valid for item in screened.items):
        rate = spend_rate_unit(deps, screened.window)
        record_rejected("validation_error")
        return BatchAnswer(_results(screened.items, {}, set()), rate)
    now = deps.clock.now()
    request_ids = tuple(str(uuid.uuid4()) if item.valid else None for item in screened.items)
    claim = _claim(screened, request_ids, now)
    stored = _store(deps, screened, _outcomes(screened, request_ids, now), claim)
    if isinstance(stored, StoredBatchClaim):
        assert claim is not None  # only a claim can be held already
        return _answer_repeat(deps, screened, stored, claim)
    deps.known_counts.add_accepted(screened.window)
    taken = _queue(deps, screened, request_ids, now, stored)
    if claim is not None:
        _record_progress(deps, claim, taken)
    if taken:
        record_accepted(len(taken))
    else:
        record_rejected("service_unavailable")
    return _answer(deps, screened, request_ids, taken, replayed=False)


def _screen(deps: IngestDependencies, request: IngestRequest) -> _ScreenedBatch:
    raw, config, window = admit(deps, request, limits.MAX_BATCH_BODY_BYTES)
    with counted_when_refused(deps, window):
        key = None if request.idempotency_key is None else validated_key(request.idempotency_key)
        items = batch_items(raw)
    return _ScreenedBatch(config, window, raw, judge_items(config, items), key)


def _claim(screened: _ScreenedBatch, request_ids: tuple[str | None, ...], now: datetime) -> BatchClaim | None:
    if screened.idempotency_key is None:
        return None
    return BatchClaim(
        endpoint_id=screened.config.endpoint_id,
        key_sha256=sha256_hex(screened.idempotency_key),
        body_sha256=sha256_hex(screened.raw),
        request_ids=request_ids,
        accepted_at=now,
    )


def _outcome(
    screened: _ScreenedBatch, index: int, request_id: str, batch_accepted_at: datetime
) -> StoredOutcome:
    return StoredOutcome(
        request_id=request_id,
        endpoint_id=screened.config.endpoint_id,
        status=RequestStatus.QUEUED,
        accepted_at=item_accept_time(batch_accepted_at, index),
        warnings=screened.items[index].mapped.warnings,
    )


def _outcomes(
    screened: _ScreenedBatch, request_ids: tuple[str | None, ...], now: datetime
) -> dict[int, StoredOutcome]:
    return {
        index: _outcome(screened, index, request_id, now)
        for index, request_id in enumerate(request_ids)
        if request_id is not None
    }


def _store(
    deps: IngestDependencies,
    screened: _ScreenedBatch,
    outcomes: dict[int, StoredOutcome],
    claim: BatchClaim | None,
) -> set[int] | StoredBatchClaim:
    """Write the counter, the claim and the `queued` outcomes; the indexes stored, or the claim held.

    The first transaction carries the counter and the claim, so a rate-limited or repeated batch leaves
    no trace; outcomes that do not fit in it follow in transactions of their own. Those are only an
    outcome each: if one fails, its items are simply not stored (answered `retry`, and stored by the
    retry).
    """
    indexes = sorted(outcomes)
    room = limits.MAX_TRANSACTION_ITEMS - 1 - (claim is not None)
    first, rest = indexes[:room], indexes[room:]
    uow = deps.unit_of_work()
    uow.add(COUNTER, deps.ledger.count_request(screened.window))
    if claim is not None:
        uow.add(IDEMPOTENCY_KEY, deps.ledger.claim_batch_key(claim, claim.accepted_at))
    for index in first:
        uow.add(request_item(index), deps.ledger.new_request(outcomes[index]))
    try:
        result = uow.commit()
    except StoreError as error:
        logger.error("batch not stored", extra={"reason": str(error)})
        raise EnqueueFailed from error
    refuse_when_counter_full(deps, screened.window, result)
    if isinstance(result, ConditionFailed) and (held := result.item(IDEMPOTENCY_KEY)) is not None:
        return deps.ledger.batch_claim_in(held)
    if not isinstance(result, Committed):
        logger.error("batch not stored", extra={"reason": str(result)})
        raise EnqueueFailed
    stored = set(first)
    for start in range(0, len(rest), limits.MAX_TRANSACTION_ITEMS):
        chunk = rest[start : start + limits.MAX_TRANSACTION_ITEMS]
        stored.update(chunk if _store_outcomes(deps, [outcomes[index] for index in chunk]) else ())
    return stored


def _store_outcomes(deps: IngestDependencies, outcomes: Sequence[StoredOutcome]) -> bool:
    uow = deps.unit_of_work()
    for outcome in outcomes:
        uow.add(outcome.request_id, deps.ledger.new_request(outcome))
    try:
        result = uow.commit()
    except StoreError as error:
        result = None
        logger.error("batch outcomes not stored; answered retry", extra={"reason": str(error)})
    return isinstance(result, Committed)


def _envelope(screened: _ScreenedBatch, outcome: StoredOutcome, index: int) -> IngestEnvelope:
    item = screened.items[index]
    assert item.mapped.record is not None  # only valid items get a request id
    return IngestEnvelope(
        request_id=outcome.request_id,
        endpoint_id=screened.config.endpoint_id,
        organisation=screened.config.organisation,
        event_id=screened.config.event_id,
        endpoint_type=screened.config.endpoint_type,
        accepted_at=outcome.accepted_at,
        payload=item.payload,
        record=item.mapped.record,
        warnings=item.mapped.warnings,
    )


def _queue(
    deps: IngestDependencies,
    screened: _ScreenedBatch,
    request_ids: tuple[str | None, ...],
    batch_accepted_at: datetime,
    indexes: Iterable[int],
    never_sent: Iterable[int] | None = None,
) -> set[int]:
    """Send the stored items; the indexes SQS took. What it did not take is marked not queued, when it is
    known never to have been sent (`never_sent`, default: all of them)."""
    envelopes: dict[int, IngestEnvelope] = {}
    for index in sorted(indexes):
        request_id = request_ids[index]
        if request_id is not None and screened.items[index].valid:
            outcome = _outcome(screened, index, request_id, batch_accepted_at)
            envelopes[index] = _envelope(screened, outcome, index)
    try:
        taken_ids = deps.send_batch(list(envelopes.values())) if envelopes else set()
    except QueueUnavailable as error:
        logger.error("batch not queued; the client is told to retry", extra={"reason": str(error)})
        taken_ids = set()
    taken = {index for index, envelope in envelopes.items() if envelope.request_id in taken_ids}
    markable = set(envelopes) if never_sent is None else set(never_sent)
    for index in sorted((set(envelopes) - taken) & markable):
        try:
            fail_not_queued(deps.ledger, envelopes[index].request_id)
        except StoreError:
            logger.exception("could not mark a batch item as not queued")
    if len(taken) < len(envelopes):
        logger.error(
            "part of a batch not queued; answered retry", extra={"not_queued": len(envelopes) - len(taken)}
        )
    return taken


def _record_progress(deps: IngestDependencies, claim: BatchClaim, taken: set[int]) -> None:
    valid = {index for index, request_id in enumerate(claim.request_ids) if request_id is not None}
    try:
        deps.ledger.record_batch_progress(claim, frozenset(taken), complete=valid <= taken)
    except StoreError:
        # The answer stands (what is queued is queued); a repeat of this key gets 409 until the claim goes
        # stale, then finishes the batch.
        logger.exception("batch queued, but the idempotency claim could not be updated")


def _results(items: Sequence[BatchItem], request_ids: dict[int, str], taken: set[int]) -> list[ItemResult]:
    results = []
    for item in items:
        request_id = request_ids.get(item.index)
        if request_id is None:
            results.append(
                ItemResult(
                    item.index,
                    ItemStatus.INVALID,
                    None,
                    item.error_type or "validation_error",
                    tuple(item.mapped.errors),
                )
            )
        elif item.index in taken:
            results.append(ItemResult(item.index, ItemStatus.QUEUED, request_id))
        else:
            results.append(ItemResult(item.index, ItemStatus.RETRY))
    return results


def _answer(
    deps: IngestDependencies,
    screened: _ScreenedBatch,
    request_ids: tuple[str | None, ...],
    taken: set[int],
    *,
    replayed: bool,
    rate: RateLimitState | None = None,
) -> BatchAnswer:
    """The answer; its RateLimit state is `rate` when the answer spent a unit of its own, else what this
    instance knows of the window."""
    known = {index: request_id for index, request_id in enumerate(request_ids) if request_id is not None}
    answer = BatchAnswer(
        _results(screened.items, known, taken),
        rate if rate is not None else known_rate_state(deps, screened.window),
        replayed,
    )
    logger.info(
        "batch answered",
        extra={"endpoint_id": screened.config.endpoint_id, "status": answer.status, "queued": len(taken)},
    )
    return answer


# -- a repeated Idempotency-Key -------------------------------------------------------------------------


def _answer_repeat(
    deps: IngestDependencies, screened: _ScreenedBatch, existing: StoredBatchClaim, claim: BatchClaim
) -> BatchAnswer:
    verdict = judge_batch_repeat(existing, claim.body_sha256, deps.clock.now().timestamp())
    first = existing.as_claim(claim.endpoint_id, claim.key_sha256)
    if verdict is Repeat.ABANDONED:  # the first attempt's transaction already counted it
        return _resume(deps, screened, existing, first)
    # A replay, a conflict and an in-flight answer store nothing, so the cancelled transaction counted
    # nothing: each spends the batch's unit here, as a single request's repeat does (service.ingest).
    rate = spend_rate_unit(deps, screened.window)
    if verdict is Repeat.CONFLICT:
        raise IdempotencyConflict
    if verdict is Repeat.IN_FLIGHT:
        raise IdempotencyInProgress(retry_after_seconds=1)
    logger.info("idempotent batch replay")
    record_replayed()
    queued = set(existing.queued_indexes)
    return _answer(deps, screened, first.request_ids, queued, replayed=True, rate=rate)


def _resume(
    deps: IngestDependencies, screened: _ScreenedBatch, existing: StoredBatchClaim, first: BatchClaim
) -> BatchAnswer:
    """Finish a batch that was queued only in part (or whose invocation died), under its first request ids.

    Each item not known queued is stored `queued` again when it is known never to have been queued (its
    outcome is missing, or failed not_queued) and sent; one still `queued` may have been sent already, and
    is sent again (the consumer finalises a request id once); one already processed or failed is left alone.
    """
    taken = set(existing.queued_indexes)
    to_send: list[int] = []
    reopened: list[int] = []
    try:
        for index, request_id in enumerate(first.request_ids):
            if request_id is None or index in taken or not screened.items[index].valid:
                continue
            outcome = _outcome(screened, index, request_id, first.accepted_at)
            if deps.ledger.reopen(outcome):
                to_send.append(index)
                reopened.append(index)
                continue
            stored = deps.ledger.get(request_id)
            if stored is not None and stored.status is RequestStatus.QUEUED:
                to_send.append(index)
            elif stored is not None and not may_accept_again(stored):
                taken.add(index)  # it reached the queue: the consumer already decided it
    except StoreError as error:
        logger.error("batch not resumed", extra={"reason": str(error)})
        raise EnqueueFailed from error
    taken |= _queue(deps, screened, first.request_ids, first.accepted_at, to_send, never_sent=reopened)
    _record_progress(deps, first, taken)
    logger.info("batch resumed", extra={"resent": len(to_send)})
    newly_queued = len(taken - existing.queued_indexes)
    if newly_queued:
        record_accepted(newly_queued)
    else:
        record_rejected("service_unavailable")
    return _answer(deps, screened, first.request_ids, taken, replayed=True)
