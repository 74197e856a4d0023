"""The life of an accepted request: its public status, why it failed, and which moves are allowed.

A request is `queued` when the API has stored it, then `processed` or `failed` (contract §4). Why it
failed is data (`failure_kind`), never a phrase to search for in its human `errors`. The table
`ALLOWED_MOVES` is the whole rule; the ledger adapter turns it into DynamoDB conditions, so a store
write can only make a move listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class RequestStatus(StrEnum):
    QUEUED = "queued"
    PROCESSED = "processed"
    FAILED = "failed"


class FailureKind(StrEnum):
    """Why a request ended `failed`."""

    INVALID = "invalid"  # the consumer found the request can never be applied
    NOT_QUEUED = "not_queued"  # its message never reached the queue (its client was told to retry)
    DEAD_LETTERED = "dead_lettered"  # its message failed on its last allowed receive


class Move(StrEnum):
    """The named transitions of a request outcome."""

    ACCEPT = "accept"  # the API stores it (or stores again one known never to have been queued)
    PROCESS = "process"  # the consumer applied it
    FAIL = "fail"  # it can never be applied, or was never queued, or was dead-lettered
    NOTE_RETRY = "note_retry"  # a delivery failed and will be retried; stays queued
    REDRIVE = "redrive"  # an operator sends a dead-lettered message again


# None stands for "no outcome stored" (a message sent without the API, e.g. by an operator).
Status = RequestStatus | None

ALLOWED_MOVES: dict[Move, tuple[frozenset[Status], RequestStatus]] = {
    Move.ACCEPT: (frozenset({None, RequestStatus.FAILED}), RequestStatus.QUEUED),
    Move.PROCESS: (frozenset({None, RequestStatus.QUEUED}), RequestStatus.PROCESSED),
    Move.FAIL: (frozenset({None, RequestStatus.QUEUED}), RequestStatus.FAILED),
    Move.NOTE_RETRY: (frozenset({RequestStatus.QUEUED}), RequestStatus.QUEUED),
    Move.REDRIVE: (frozenset({RequestStatus.QUEUED, RequestStatus.FAILED}), RequestStatus.QUEUED),
}

# Of the failed, only those never queued may be accepted again (their client retries them); any other
# failure is final for the API. Redrive is the operator's move and takes any failed outcome back.
REACCEPTABLE_FAILURES = frozenset({FailureKind.NOT_QUEUED})


def sources(move: Move) -> frozenset[Status]:
    """The statuses `move` may start from (None: no outcome stored yet)."""
    return ALLOWED_MOVES[move][0]


def target(move: Move) -> RequestStatus:
    return ALLOWED_MOVES[move][1]


def is_allowed(move: Move, current: Status, failure_kind: FailureKind | None = None) -> bool:
    """Whether `move` may be made from an outcome in `current` (failed for `failure_kind`)."""
    if current not in sources(move):
        return False
    if move is Move.ACCEPT and current is RequestStatus.FAILED:
        return failure_kind in REACCEPTABLE_FAILURES
    return True


def is_final(status: RequestStatus) -> bool:
    """Final outcomes never change again for the consumer (a redelivery finds them and stops)."""
    return status is not RequestStatus.QUEUED


@dataclass(frozen=True)
class RequestRef:
    """What the consumer knows of a request from its envelope (enough to write a missing outcome whole)."""

    request_id: str
    endpoint_id: str | None = None
    accepted_at: datetime | None = None

    @property
    def complete(self) -> bool:
        """Only a reference naming its endpoint and accept time may write a missing outcome whole."""
        return self.endpoint_id is not None and self.accepted_at is not None
