"""In-memory fakes of the service ports (session_ingest.service.ports), for fast use-case unit tests.

They keep the adapters' semantics that the use cases rely on: conditional moves of request outcomes
(checked against domain.request_lifecycle, as the ledger's conditions are), all-or-nothing units of
work whose failed conditions name the item and return it as stored, optimistic versions on sessions and
uid claims, and an atomic number counter. Each fake can be told to fail, so every rare path is driven.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from session_ingest.adapters.endpoint_store import StoredEndpoint
from session_ingest.domain.batch import BatchClaim, StoredBatchClaim
from session_ingest.domain.idempotency import IdempotencyClaim, StoredClaim
from session_ingest.domain.matching import ClaimWrite
from session_ingest.domain.models import IngestWarning, StoredOutcome
from session_ingest.domain.rate_limit import RateWindow
from session_ingest.domain.request_lifecycle import (
    FailureKind,
    Move,
    RequestRef,
    RequestStatus,
    is_allowed,
)
from session_ingest.domain.request_listing import ListingPage, ListingPosition, ListingQuery
from session_ingest.domain.resource_ids import format_resource_id
from session_ingest.domain.sessions import SESSION_KIND, StoredSession, UidClaim
from session_ingest.domain.utc import format_utc
from session_ingest.envelope import IngestEnvelope
from session_ingest.errors import StoreUnavailable
from session_ingest.service.ports import (
    ClaimKey,
    CommitResult,
    Committed,
    ConditionFailed,
    Consumed,
    NewSession,
    SessionChange,
    SessionKey,
    SessionsSnapshot,
    TransactItem,
)

FAKE = "Fake"  # the key under which a fake's TransactItem carries its FakeWrite


@dataclass
class FakeWrite:
    """A staged write: `check` returns None when its condition holds, else the item as stored (or {})."""

    check: Callable[[], dict[str, Any] | None]
    apply: Callable[[], None]


def fake_item(check: Callable[[], dict[str, Any] | None], apply: Callable[[], None]) -> TransactItem:
    return {FAKE: FakeWrite(check, apply)}


class InMemoryUnitOfWork:
    """All or nothing over fake writes. `script` answers the next commits instead (e.g. Exhausted)."""

    def __init__(self, script: list[CommitResult | Exception] | None = None) -> None:
        self.items: dict[str, FakeWrite] = {}
        self.script = script if script is not None else []

    def add(self, name: str, item: TransactItem) -> None:
        assert name not in self.items, f"{name} added twice"
        self.items[name] = item[FAKE]

    def commit(self) -> CommitResult:
        if self.script:
            scripted = self.script.pop(0)
            if isinstance(scripted, Exception):
                raise scripted
            return scripted
        failed = {name: found for name, write in self.items.items() if (found := write.check()) is not None}
        if failed:
            return ConditionFailed({name: found or None for name, found in failed.items()})
        for write in self.items.values():
            write.apply()
        return Committed()


@dataclass
class UnitsOfWork:
    """The unit-of-work factory the dependencies take; remembers every unit and shares one script."""

    script: list[CommitResult | Exception] = field(default_factory=list)
    made: list[InMemoryUnitOfWork] = field(default_factory=list)

    def __call__(self) -> InMemoryUnitOfWork:
        unit = InMemoryUnitOfWork(self.script)
        self.made.append(unit)
        return unit


def _plain(outcome: StoredOutcome) -> dict[str, Any]:
    return outcome.model_dump(mode="json")


class InMemoryRequestLedger:
    """The requests table: outcomes, claims and counters in dicts. `unavailable` names the methods that
    raise StoreUnavailable."""

    def __init__(self) -> None:
        self.outcomes: dict[str, StoredOutcome] = {}
        self.claims: dict[tuple[str, str], tuple[StoredClaim, int]] = {}  # -> (claim, expires_at)
        self.batch_claims: dict[tuple[str, str], StoredBatchClaim] = {}
        self.counts: dict[tuple[str, int], int] = {}
        self.unavailable: set[str] = set()
        self.calls: list[str] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.unavailable:
            raise StoreUnavailable(f"{name}: injected outage")

    # -- acceptance --------------------------------------------------------------------------------------

    def count_request(self, window: RateWindow) -> TransactItem:
        key = (window.endpoint_id, window.start)

        def check() -> dict[str, Any] | None:
            count = self.counts.get(key, 0)
            return None if count < window.limit else {"request_count": count}

        def apply() -> None:
            self.counts[key] = self.counts.get(key, 0) + 1

        return fake_item(check, apply)

    def new_request(self, outcome: StoredOutcome) -> TransactItem:
        self._call("new_request")

        def check() -> dict[str, Any] | None:
            stored = self.outcomes.get(outcome.request_id)
            return None if stored is None else _plain(stored)

        def apply() -> None:
            self.outcomes[outcome.request_id] = outcome

        return fake_item(check, apply)

    def claim_key(self, claim: IdempotencyClaim, now: datetime) -> TransactItem:
        key = (claim.endpoint_id, claim.key_sha256)
        epoch = int(now.timestamp())

        def check() -> dict[str, Any] | None:
            held = self.claims.get(key)
            if held is None or held[1] < epoch:
                return None
            stored = held[0]
            return {
                "request_id": stored.request_id,
                "body_sha256": stored.body_sha256,
                "queued": stored.queued,
                "claimed_at": stored.claimed_at,
            }

        def apply() -> None:
            stored = StoredClaim(claim.request_id, claim.body_sha256, False, epoch)
            self.claims[key] = (stored, epoch + 86_400)

        return fake_item(check, apply)

    def count_in(self, item: dict[str, Any] | None) -> int:
        return int((item or {}).get("request_count", 0))

    def claim_in(self, item: dict[str, Any]) -> StoredClaim:
        return StoredClaim(
            str(item["request_id"]), str(item["body_sha256"]), bool(item["queued"]), int(item["claimed_at"])
        )

    def claim_batch_key(self, claim: BatchClaim, now: datetime) -> TransactItem:
        key = (claim.endpoint_id, claim.key_sha256)
        epoch = int(now.timestamp())

        def check() -> dict[str, Any] | None:
            held = self.batch_claims.get(key)
            return None if held is None else {"stored": held}

        def apply() -> None:
            self.batch_claims[key] = StoredBatchClaim(
                claim.request_ids, claim.body_sha256, False, False, frozenset(), claim.accepted_at, epoch
            )

        return fake_item(check, apply)

    def batch_claim_in(self, item: dict[str, Any]) -> StoredBatchClaim:
        stored: StoredBatchClaim = item["stored"]
        return stored

    def record_batch_progress(
        self, claim: BatchClaim, queued_indexes: frozenset[int], complete: bool
    ) -> None:
        self._call("record_batch_progress")
        key = (claim.endpoint_id, claim.key_sha256)
        held = self.batch_claims[key]
        self.batch_claims[key] = StoredBatchClaim(
            held.request_ids,
            held.body_sha256,
            complete,
            True,
            queued_indexes,
            held.accepted_at,
            held.claimed_at,
        )

    def consume(self, window: RateWindow) -> Consumed:
        self._call("consume")
        key = (window.endpoint_id, window.start)
        count = self.counts.get(key, 0)
        if count >= window.limit:
            return Consumed(admitted=False, count=count)
        self.counts[key] = count + 1
        return Consumed(admitted=True, count=count + 1)

    def mark_not_queued(self, request_id: str, reason: str) -> bool:
        self._call("mark_not_queued")
        stored = self.outcomes.get(request_id)
        if stored is None or stored.status is not RequestStatus.QUEUED:
            return False
        self.outcomes[request_id] = stored.model_copy(
            update={
                "status": RequestStatus.FAILED,
                "failure_kind": FailureKind.NOT_QUEUED,
                "errors": [*stored.errors, reason],
            }
        )
        return True

    def reopen(self, outcome: StoredOutcome) -> bool:
        self._call("reopen")
        stored = self.outcomes.get(outcome.request_id)
        current = None if stored is None else stored.status
        if not is_allowed(Move.ACCEPT, current, None if stored is None else stored.failure_kind):
            return False
        self.outcomes[outcome.request_id] = outcome
        return True

    def release_claim(self, claim: IdempotencyClaim) -> None:
        self._call("release_claim")
        key = (claim.endpoint_id, claim.key_sha256)
        if key in self.claims and self.claims[key][0].request_id == claim.request_id:
            del self.claims[key]

    def confirm_claim(self, claim: IdempotencyClaim) -> None:
        self._call("confirm_claim")
        key = (claim.endpoint_id, claim.key_sha256)
        stored, expires = self.claims[key]
        self.claims[key] = (
            StoredClaim(stored.request_id, stored.body_sha256, True, stored.claimed_at),
            expires,
        )

    def get(self, request_id: str) -> StoredOutcome | None:
        self._call("get")
        return self.outcomes.get(request_id)

    def outcome_and_count(self, request_id: str, window: RateWindow) -> tuple[StoredOutcome | None, int]:
        self._call("outcome_and_count")
        return self.outcomes.get(request_id), self.counts.get((window.endpoint_id, window.start), 0)

    # -- consumer ----------------------------------------------------------------------------------------

    def processed(
        self,
        ref: RequestRef,
        action: str,
        resource_id: str,
        warnings: Sequence[IngestWarning],
        now: datetime,
    ) -> TransactItem:
        def check() -> dict[str, Any] | None:
            stored = self.outcomes.get(ref.request_id)
            if is_allowed(Move.PROCESS, None if stored is None else stored.status):
                return None
            assert stored is not None
            return _plain(stored)

        def apply() -> None:
            self.outcomes[ref.request_id] = self._whole(ref).model_copy(
                update={
                    "status": RequestStatus.PROCESSED,
                    "processed_at": now,
                    "action": action,
                    "resource_id": resource_id,
                    "warnings": list(warnings),
                    "errors": [],
                    "failure_kind": None,
                }
            )

        return fake_item(check, apply)

    def outcome_in(self, item: dict[str, Any] | None) -> StoredOutcome | None:
        return None if item is None else StoredOutcome.model_validate(item)

    def mark_failed(
        self,
        ref: RequestRef,
        kind: FailureKind,
        errors: Sequence[str],
        warnings: Sequence[IngestWarning],
        now: datetime,
    ) -> bool:
        self._call("mark_failed")
        stored = self.outcomes.get(ref.request_id)
        if stored is None and not ref.complete:
            return False
        if not is_allowed(Move.FAIL, None if stored is None else stored.status):
            return False
        base = stored if stored is not None else self._whole(ref)
        self.outcomes[ref.request_id] = base.model_copy(
            update={
                "status": RequestStatus.FAILED,
                "failure_kind": kind,
                "processed_at": now,
                "errors": list(errors),
                "warnings": list(warnings),
            }
        )
        return True

    def note_retry(self, request_id: str, reason: str, now: datetime) -> bool:
        self._call("note_retry")
        stored = self.outcomes.get(request_id)
        if stored is None or not is_allowed(Move.NOTE_RETRY, stored.status):
            return False
        self.outcomes[request_id] = stored.model_copy(
            update={"last_error": reason, "delivery_attempts": stored.delivery_attempts + 1}
        )
        return True

    def requeue(self, request_id: str) -> bool:
        self._call("requeue")
        stored = self.outcomes.get(request_id)
        if stored is None or not is_allowed(Move.REDRIVE, stored.status):
            return False
        self.outcomes[request_id] = stored.model_copy(
            update={"status": RequestStatus.QUEUED, "errors": [], "processed_at": None, "failure_kind": None}
        )
        return True

    # -- listing ---------------------------------------------------------------------------------------

    def list_for_endpoint(self, query: ListingQuery) -> ListingPage:
        """The index's order (newest first, then request id descending), no read budget."""
        self._call("list_for_endpoint")
        ordered = sorted(
            (o for o in self.outcomes.values() if o.endpoint_id == query.endpoint_id),
            key=lambda o: (format_utc(o.accepted_at), o.request_id),
            reverse=True,
        )
        after = query.after
        matching = [
            o
            for o in ordered
            if (query.status is None or o.status is query.status)
            and (query.since is None or o.accepted_at >= query.since)
            and (
                after is None
                or (format_utc(o.accepted_at), o.request_id) < (after.accepted_at, after.request_id)
            )
        ]
        page = matching[: query.limit]
        more = len(matching) > query.limit
        return ListingPage(
            page, ListingPosition(format_utc(page[-1].accepted_at), page[-1].request_id) if more else None
        )

    def _whole(self, ref: RequestRef) -> StoredOutcome:
        stored = self.outcomes.get(ref.request_id)
        if stored is not None:
            return stored
        assert ref.endpoint_id is not None
        assert ref.accepted_at is not None
        return StoredOutcome(
            request_id=ref.request_id,
            endpoint_id=ref.endpoint_id,
            status=RequestStatus.QUEUED,
            accepted_at=ref.accepted_at,
        )


class InMemorySessions:
    """The sessions table: sessions by (event, number), uid claims by (event, uid), counters."""

    def __init__(self) -> None:
        self.sessions: dict[tuple[int, int], StoredSession] = {}
        self.claims: dict[tuple[int, str], UidClaim] = {}
        self.locations: set[tuple[int, int]] = set()
        self.counters: dict[tuple[str, str], int] = {}
        self.unavailable: set[str] = set()

    def _call(self, name: str) -> None:
        if name in self.unavailable:
            raise StoreUnavailable(f"{name}: injected outage")

    def read_many(
        self,
        sessions: Iterable[SessionKey] = (),
        claims: Iterable[ClaimKey] = (),
        locations: Iterable[SessionKey] = (),
    ) -> SessionsSnapshot:
        self._call("read_many")
        return SessionsSnapshot(
            sessions={key: self.sessions[key] for key in sessions if key in self.sessions},
            claims={key: self.claims[key] for key in claims if key in self.claims},
            locations=frozenset(key for key in locations if key in self.locations),
        )

    def get_session(self, event_id: int, number: int) -> StoredSession | None:
        self._call("get_session")
        return self.sessions.get((event_id, number))

    def get_claim(self, event_id: int, organisation_uid: str) -> UidClaim | None:
        self._call("get_claim")
        return self.claims.get((event_id, organisation_uid))

    def allocate_number(self, organisation: str, kind: str) -> int:
        self._call("allocate_number")
        key = (organisation, kind)
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]

    def allocate_numbers(self, organisation: str, kind: str, count: int) -> list[int]:
        self._call("allocate_numbers")
        key = (organisation, kind)
        first = self.counters.get(key, 0) + 1
        self.counters[key] = first + count - 1
        return list(range(first, first + count))

    def put_new_session(self, new: NewSession, now: datetime) -> TransactItem:
        key = (new.event_id, new.number)

        def check() -> dict[str, Any] | None:
            return None if key not in self.sessions else {"resource_id": self.sessions[key].resource_id}

        def apply() -> None:
            self.sessions[key] = StoredSession(
                event_id=new.event_id,
                number=new.number,
                resource_id=format_resource_id(new.organisation, SESSION_KIND, new.number),
                version=1,
                fields=dict(new.fields),
                field_accepted_at=dict.fromkeys(new.fields, new.accepted_at),
                organisation=new.organisation,
            )

        return fake_item(check, apply)

    def update_session(self, change: SessionChange, now: datetime) -> TransactItem:
        session = change.session
        key = (session.event_id, session.number)

        def check() -> dict[str, Any] | None:
            current = self.sessions.get(key)
            ours = current is not None and current.organisation in (None, change.organisation)
            return None if current is not None and current.version == session.version and ours else {}

        def apply() -> None:
            current = self.sessions[key]
            self.sessions[key] = StoredSession(
                event_id=current.event_id,
                number=current.number,
                resource_id=current.resource_id,
                version=current.version + 1,
                fields={**current.fields, **change.fields},
                field_accepted_at={
                    **current.field_accepted_at,
                    **dict.fromkeys(change.fields, change.accepted_at),
                },
                organisation=current.organisation,
            )

        return fake_item(check, apply)

    def write_claim(self, event_id: int, organisation: str, write: ClaimWrite, now: datetime) -> TransactItem:
        key = (event_id, write.organisation_uid)

        def check() -> dict[str, Any] | None:
            current = self.claims.get(key)
            expected = write.expected
            if expected is None:
                return None if current is None else {}
            ours = current is not None and current.organisation in (None, organisation)
            return None if current is not None and current.version == expected.version and ours else {}

        def apply() -> None:
            if not write.holders:
                del self.claims[key]
                return
            version = 1 if write.expected is None else write.expected.version + 1
            self.claims[key] = UidClaim(write.organisation_uid, tuple(write.holders), version, organisation)

        return fake_item(check, apply)


@dataclass
class InMemoryQueue:
    """The envelope sender: records what was sent; raises `failure` instead while it is set."""

    sent: list[IngestEnvelope] = field(default_factory=list)
    failure: Exception | None = None

    def __call__(self, envelope: IngestEnvelope) -> str:
        if self.failure is not None:
            raise self.failure
        self.sent.append(envelope)
        return f"message-{len(self.sent)}"


@dataclass
class InMemoryEndpoints:
    """Stored endpoints by id (the token id is checked by the use case against the endpoint's tokens)."""

    endpoints: dict[str, StoredEndpoint] = field(default_factory=dict)

    def get(self, endpoint_id: str, token_id: str) -> StoredEndpoint | None:
        return self.endpoints.get(endpoint_id)
