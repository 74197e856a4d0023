"""What the use cases need from the outside world, as small interfaces (adapters implement them; the
in-memory fakes in tests/support/fakes.py too).

Every port speaks domain types and the service's own errors (`errors.StoreUnavailable`,
`errors.WriteRejected`, `QueueUnavailable`), never botocore's. Writes that must happen together are
*staged*: a port returns a `TransactItem` for the use case to add, under a name it chooses, to a
`UnitOfWork`; the commit's result is then read by those names (which condition failed, and the item as
it was), never by position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

# Re-exported: the one clock port (wall clock and monotonic), with its system implementation beside it.
from session_ingest.adapters.clock import Clock as Clock
from session_ingest.envelope import IngestEnvelope

if TYPE_CHECKING:
    # Only named in signatures: importing them here would make every function that needs one port import
    # every use case's domain (the consumer would load the ingest API's batch and listing rules).
    from session_ingest.adapters.endpoint_store import StoredEndpoint
    from session_ingest.domain.batch import BatchClaim, StoredBatchClaim
    from session_ingest.domain.idempotency import IdempotencyClaim, StoredClaim
    from session_ingest.domain.matching import ClaimWrite
    from session_ingest.domain.models import IngestWarning, StoredOutcome
    from session_ingest.domain.rate_limit import RateWindow
    from session_ingest.domain.request_lifecycle import FailureKind, RequestRef
    from session_ingest.domain.request_listing import ListingPage, ListingQuery
    from session_ingest.domain.sessions import StoredSession, UidClaim

# One write of a transaction, opaque to the use case (a DynamoDB TransactItems entry, or a fake's).
TransactItem = dict[str, Any]


# -- unit of work -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Committed:
    """Every staged write was applied."""


@dataclass(frozen=True)
class ConditionFailed:
    """Nothing was applied: the named items' conditions were false. `items[name]` is the item as the
    store holds it (plain values; None when there is none, or the store did not return it)."""

    items: Mapping[str, dict[str, Any] | None]

    def on(self, name: str) -> bool:
        return name in self.items

    def item(self, name: str) -> dict[str, Any] | None:
        return self.items.get(name)


@dataclass(frozen=True)
class Exhausted:
    """Nothing was applied: concurrent writers (or throttling) kept cancelling it past the retries."""

    reasons: Mapping[str, str] = field(default_factory=dict)


CommitResult = Committed | ConditionFailed | Exhausted


class UnitOfWork(Protocol):
    """Writes applied all or nothing. Raises WriteRejected (never retried) or StoreUnavailable."""

    def add(self, name: str, item: TransactItem) -> None: ...

    def commit(self) -> CommitResult: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


# -- requests table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consumed:
    """The outcome of spending one rate-limit unit: admitted or not, and the count the store reported."""

    admitted: bool
    count: int


class RequestLedgerPort(Protocol):
    """The requests table: request outcomes, Idempotency-Key claims and rate counters."""

    # Staged writes of an acceptance, and what their failed conditions say.
    def count_request(self, window: RateWindow) -> TransactItem: ...
    def new_request(self, outcome: StoredOutcome) -> TransactItem: ...
    def claim_key(self, claim: IdempotencyClaim, now: datetime) -> TransactItem: ...
    def count_in(self, item: dict[str, Any] | None) -> int: ...
    def claim_in(self, item: dict[str, Any]) -> StoredClaim: ...
    def claim_batch_key(self, claim: BatchClaim, now: datetime) -> TransactItem: ...
    def batch_claim_in(self, item: dict[str, Any]) -> StoredBatchClaim: ...
    def record_batch_progress(
        self, claim: BatchClaim, queued_indexes: frozenset[int], complete: bool
    ) -> None: ...

    def consume(self, window: RateWindow) -> Consumed: ...
    def mark_not_queued(self, request_id: str, reason: str) -> bool: ...
    def reopen(self, outcome: StoredOutcome) -> bool: ...
    def release_claim(self, claim: IdempotencyClaim) -> None: ...
    def confirm_claim(self, claim: IdempotencyClaim) -> None: ...
    def get(self, request_id: str) -> StoredOutcome | None: ...
    def outcome_and_count(self, request_id: str, window: RateWindow) -> tuple[StoredOutcome | None, int]: ...

    # The consumer's moves.
    def processed(
        self,
        ref: RequestRef,
        action: str,
        resource_id: str,
        warnings: Sequence[IngestWarning],
        now: datetime,
    ) -> TransactItem: ...
    def outcome_in(self, item: dict[str, Any] | None) -> StoredOutcome | None: ...
    def mark_failed(
        self,
        ref: RequestRef,
        kind: FailureKind,
        errors: Sequence[str],
        warnings: Sequence[IngestWarning],
        now: datetime,
    ) -> bool: ...
    def note_retry(self, request_id: str, reason: str, now: datetime) -> bool: ...
    def requeue(self, request_id: str) -> bool: ...

    # listing (operators and integrators)
    def list_for_endpoint(self, query: ListingQuery) -> ListingPage: ...


# -- sessions table -------------------------------------------------------------------------------------


SessionKey = tuple[int, int]  # (event id, session or location number)
ClaimKey = tuple[int, str]  # (event id, organisation uid)


@dataclass(frozen=True)
class SessionsSnapshot:
    """What one consistent batch read of many key-addressed items found (absent keys: not stored)."""

    sessions: Mapping[SessionKey, StoredSession] = field(default_factory=dict)
    claims: Mapping[ClaimKey, UidClaim] = field(default_factory=dict)
    locations: frozenset[SessionKey] = frozenset()


@dataclass(frozen=True)
class NewSession:
    """A session to create: its number, fields and the accept time that set every field."""

    event_id: int
    organisation: str
    number: int
    fields: Mapping[str, Any]
    accepted_at: datetime


@dataclass(frozen=True)
class SessionChange:
    """Fields to write on an existing session, guarded by the version it was read at."""

    session: StoredSession
    fields: Mapping[str, Any]
    accepted_at: datetime
    organisation_uid: str | None  # the session's uid after the change (None: unchanged)
    organisation: str | None = None  # the writer's organisation: the write fails unless the session's


class SessionsPort(Protocol):
    """The sessions table as matching and the consumer use it."""

    def get_session(self, event_id: int, number: int) -> StoredSession | None: ...
    def get_claim(self, event_id: int, organisation_uid: str) -> UidClaim | None: ...
    def read_many(
        self,
        sessions: Iterable[SessionKey] = (),
        claims: Iterable[ClaimKey] = (),
        locations: Iterable[SessionKey] = (),
    ) -> SessionsSnapshot: ...
    def allocate_number(self, organisation: str, kind: str) -> int: ...
    def allocate_numbers(self, organisation: str, kind: str, count: int) -> list[int]: ...
    def put_new_session(self, new: NewSession, now: datetime) -> TransactItem: ...
    def update_session(self, change: SessionChange, now: datetime) -> TransactItem: ...
    def write_claim(
        self, event_id: int, organisation: str, write: ClaimWrite, now: datetime
    ) -> TransactItem: ...


# -- the rest -------------------------------------------------------------------------------------------


class EndpointsPort(Protocol):
    """Endpoint configurations and token hashes (cached by the adapter)."""

    def get(self, endpoint_id: str, token_id: str) -> StoredEndpoint | None: ...


# Queues one envelope; returns the message id. Raises QueueUnavailable.
EnvelopeSender = Callable[[IngestEnvelope], str]
# Queues envelopes in as few calls as SQS allows; returns the request ids SQS took (maybe not all).
BatchEnvelopeSender = Callable[[Sequence[IngestEnvelope]], set[str]]
