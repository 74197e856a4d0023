"""The request lifecycle's transition table, pair by pair (domain.request_lifecycle)."""

from __future__ import annotations

import itertools

import pytest

from session_ingest.domain.request_lifecycle import (
    FailureKind,
    Move,
    RequestStatus,
    Status,
    is_allowed,
    is_final,
    target,
)

Q, P, F = RequestStatus.QUEUED, RequestStatus.PROCESSED, RequestStatus.FAILED
MISSING: Status = None

# The whole rule, written out: (move, from) -> allowed. A pair not listed is refused.
EXPECTED: dict[tuple[Move, Status], bool] = {
    (Move.ACCEPT, MISSING): True,
    (Move.ACCEPT, Q): False,
    (Move.ACCEPT, P): False,
    (Move.ACCEPT, F): True,  # only when failed never queued (below)
    (Move.PROCESS, MISSING): True,
    (Move.PROCESS, Q): True,
    (Move.PROCESS, P): False,
    (Move.PROCESS, F): False,
    (Move.FAIL, MISSING): True,
    (Move.FAIL, Q): True,
    (Move.FAIL, P): False,
    (Move.FAIL, F): False,
    (Move.NOTE_RETRY, MISSING): False,
    (Move.NOTE_RETRY, Q): True,
    (Move.NOTE_RETRY, P): False,
    (Move.NOTE_RETRY, F): False,
    (Move.REDRIVE, MISSING): False,
    (Move.REDRIVE, Q): True,
    (Move.REDRIVE, P): False,
    (Move.REDRIVE, F): True,
}
STATUSES: list[Status] = [MISSING, *RequestStatus]


def test_the_table_covers_every_move_and_status() -> None:
    assert set(EXPECTED) == set(itertools.product(Move, STATUSES))


@pytest.mark.parametrize(("move", "current"), sorted(EXPECTED, key=str))
def test_each_move_is_allowed_exactly_from_its_sources(move: Move, current: Status) -> None:
    # Given an outcome in `current` (failed never queued, where that matters)
    kind = FailureKind.NOT_QUEUED if current is F else None
    # When `move` is asked for  # Then it is allowed exactly as the table says
    assert is_allowed(move, current, kind) is EXPECTED[(move, current)]


@pytest.mark.parametrize("kind", [*FailureKind, None])
def test_only_a_request_never_queued_may_be_accepted_again_once_failed(kind: FailureKind | None) -> None:
    assert is_allowed(Move.ACCEPT, F, kind) is (kind is FailureKind.NOT_QUEUED)


@pytest.mark.parametrize("kind", list(FailureKind))
def test_redrive_takes_back_any_failed_outcome(kind: FailureKind) -> None:
    assert is_allowed(Move.REDRIVE, F, kind)


@pytest.mark.parametrize(
    ("move", "to"),
    [(Move.ACCEPT, Q), (Move.PROCESS, P), (Move.FAIL, F), (Move.NOTE_RETRY, Q), (Move.REDRIVE, Q)],
)
def test_each_move_ends_in_its_status(move: Move, to: RequestStatus) -> None:
    assert target(move) is to


@pytest.mark.parametrize(("status", "final"), [(Q, False), (P, True), (F, True)])
def test_processed_and_failed_are_final(status: RequestStatus, final: bool) -> None:
    assert is_final(status) is final
