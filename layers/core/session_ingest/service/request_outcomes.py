"""Where a request's outcome changes, and how it is shown (contract §4 `GET …/requests/{request_id}`).

Every decision about a request's state is made here: when it is queued again, processed, failed (and
for which `FailureKind`), noted for a retry, dead-lettered or redriven. The use cases (service.ingest,
service.process, service.dead_letters) call these; the moves themselves and what each may start from
are `domain.request_lifecycle`'s, and the store writes are the ledger adapter's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from session_ingest.domain.models import IngestWarning, StoredOutcome
from session_ingest.domain.request_lifecycle import FailureKind, Move, RequestRef, RequestStatus, is_allowed
from session_ingest.domain.utc import format_utc
from session_ingest.service.dependencies import request_ledger
from session_ingest.service.ports import RequestLedgerPort, TransactItem, UnitOfWork

NOT_QUEUED_REASON = "not queued: the client was told to retry"
DEAD_LETTERED_PREFIX = "dead-lettered: "
UNKNOWN_REASON = "no failure reason was recorded"
REQUEST_ITEM = "request"  # the outcome's name in a consumer's unit of work


def outcome_view(outcome: StoredOutcome) -> dict[str, Any]:
    """The documented JSON shape, every key present (null when not yet known)."""
    return {
        "request_id": outcome.request_id,
        "status": outcome.status.value,
        "accepted_at": format_utc(outcome.accepted_at),
        "processed_at": None if outcome.processed_at is None else format_utc(outcome.processed_at),
        "action": outcome.action,
        "resource_id": outcome.resource_id,
        "warnings": [warning.model_dump() for warning in outcome.warnings],
        "errors": list(outcome.errors),
    }


def describe_request(request_id: str, ledger: RequestLedgerPort | None = None) -> dict[str, Any] | None:
    """Operator lookup of any request (no token, no endpoint check); None when unknown."""
    ledger = ledger or request_ledger()
    outcome = ledger.get(request_id)
    return None if outcome is None else outcome_view(outcome)


# -- the API's moves ------------------------------------------------------------------------------------


def may_accept_again(stored: StoredOutcome | None) -> bool:
    """A repeat may store its request `queued` again only when it is known never to have been queued."""
    if stored is None:
        return is_allowed(Move.ACCEPT, None)
    return is_allowed(Move.ACCEPT, stored.status, stored.failure_kind)


def fail_not_queued(ledger: RequestLedgerPort, request_id: str) -> bool:
    """The message never reached the queue and the client was told to retry: failed, `not_queued`."""
    return ledger.mark_not_queued(request_id, NOT_QUEUED_REASON)


# -- the consumer's moves -------------------------------------------------------------------------------


def stage_processed(
    uow: UnitOfWork,
    ledger: RequestLedgerPort,
    ref: RequestRef,
    action: str,
    resource_id: str,
    warnings: Sequence[IngestWarning],
    now: datetime,
) -> None:
    """queued -> processed, in the same unit of work as the session write (under REQUEST_ITEM)."""
    item: TransactItem = ledger.processed(ref, action, resource_id, warnings, now)
    uow.add(REQUEST_ITEM, item)


def fail_invalid(
    ledger: RequestLedgerPort,
    ref: RequestRef,
    reason: str,
    warnings: Sequence[IngestWarning],
    now: datetime,
    kind: FailureKind = FailureKind.INVALID,
) -> bool:
    """The request can never be applied: failed, `invalid` (or the more precise `kind`, such as
    `record_too_large`), with why. False when already final."""
    return ledger.mark_failed(ref, kind, [reason], warnings, now)


def is_last_receive(receive_count: int, max_receive_count: int | None) -> bool:
    """Whether this delivery is the last SQS allows before moving the message to the DLQ."""
    return max_receive_count is not None and receive_count >= max_receive_count


def fail_dead_lettered(ledger: RequestLedgerPort, ref: RequestRef, reason: str, now: datetime) -> bool:
    """Its message failed on its last allowed receive, so it goes to the DLQ: failed, `dead_lettered`."""
    return ledger.mark_failed(ref, FailureKind.DEAD_LETTERED, [DEAD_LETTERED_PREFIX + reason], [], now)


def note_retry(ledger: RequestLedgerPort, request_id: str, reason: str, now: datetime) -> bool:
    """A delivery failed and will be retried: stays queued, with the reason operators are shown."""
    return ledger.note_retry(request_id, reason, now)


def redelivery_of_final(stored: StoredOutcome | None) -> bool:
    """A message whose outcome is already final changes nothing when delivered again."""
    return stored is not None and stored.status is not RequestStatus.QUEUED


# -- the operator's moves -------------------------------------------------------------------------------


def requeue_for_redrive(ledger: RequestLedgerPort, request_id: str) -> bool:
    """failed -> queued before its dead-lettered message is sent again (a processed outcome stays)."""
    return ledger.requeue(request_id)


def dead_letter_reason(stored: StoredOutcome | None) -> str:
    """Why a message sits in the DLQ, as the consumer recorded it."""
    if stored is None:
        return UNKNOWN_REASON
    if stored.failure_kind is FailureKind.DEAD_LETTERED and stored.errors:
        return stored.errors[0].removeprefix(DEAD_LETTERED_PREFIX)
    return stored.last_error or UNKNOWN_REASON
