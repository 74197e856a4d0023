"""What an SQS batch of records needs from the sessions table, read once for the whole batch.

One consistent BatchGetItem reads every key-addressed item the batch's records match on (sessions by
resource id, uid claims, locations), a second one the sessions their claims name, and one counter update
reserves a number for each record that will create a session. Each record then decides and writes as
before, in its own conditional transaction: the reads only spare it its own, so exactly-once, racing
creates and per-field last-writer-wins are untouched (a stale read makes a condition fail, and the record
re-reads on its own, as it always has).

Within the batch, once a record has written a session or a claim, what the batch read of those keys is
stale: a later record using one of them reads for itself. A reserved number that ends up unused is a gap,
as after a cancelled create.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from session_ingest.domain.matching import MatchAction, MatchBy, MatchKeys, decide_match
from session_ingest.domain.sessions import SESSION_KIND, StoredSession, UidClaim
from session_ingest.service.matching import Match, match_from
from session_ingest.service.ports import ClaimKey, SessionKey, SessionsPort, SessionsSnapshot


@dataclass(frozen=True)
class RecordKeys:
    """What one record of the batch matches on."""

    event_id: int
    organisation: str
    keys: MatchKeys
    location_number: int | None

    @property
    def session_key(self) -> SessionKey | None:
        number = self.keys.session_number
        return None if number is None else (self.event_id, number)

    @property
    def claim_key(self) -> ClaimKey | None:
        uid = self.keys.organisation_uid
        return None if uid is None else (self.event_id, uid)

    @property
    def location_key(self) -> SessionKey | None:
        return None if self.location_number is None else (self.event_id, self.location_number)


class _NotRead(Exception):
    """The batch read does not cover a key (or covers it stale): the record reads for itself."""


@dataclass
class BatchReads:
    """The batch's reads and reserved numbers, as the records of the batch use them one by one."""

    snapshot: SessionsSnapshot = field(default_factory=SessionsSnapshot)
    read_sessions: set[SessionKey] = field(default_factory=set)
    read_claims: set[ClaimKey] = field(default_factory=set)
    read_locations: set[SessionKey] = field(default_factory=set)
    numbers: dict[str, list[int]] = field(default_factory=dict)  # organisation -> reserved, in order
    _written_sessions: set[SessionKey] = field(default_factory=set)
    _written_claims: set[ClaimKey] = field(default_factory=set)

    def match(self, record: RecordKeys) -> Match | None:
        """The record's match from the batch read; None when the read does not cover it or is stale."""
        try:
            return match_from(
                record.organisation,
                record.event_id,
                record.keys,
                self._session(record.session_key),
                self._claim(record.claim_key),
                self._location_exists(record.location_key),
                lambda number: self._session((record.event_id, number)),
            )
        except _NotRead:
            return None

    def take_number(self, organisation: str) -> int | None:
        """A number reserved for one of the batch's creates, or None when none is left."""
        reserved = self.numbers.get(organisation)
        return reserved.pop(0) if reserved else None

    def wrote(self, sessions: Iterable[SessionKey], claims: Iterable[ClaimKey]) -> None:
        """A record wrote (or tried to write) these items: the batch's copies of them are stale now."""
        self._written_sessions.update(sessions)
        self._written_claims.update(claims)

    def _session(self, key: SessionKey | None) -> StoredSession | None:
        if key is None:
            return None
        if key not in self.read_sessions or key in self._written_sessions:
            raise _NotRead
        return self.snapshot.sessions.get(key)

    def _claim(self, key: ClaimKey | None) -> UidClaim | None:
        if key is None:
            return None
        if key not in self.read_claims or key in self._written_claims:
            raise _NotRead
        return self.snapshot.claims.get(key)

    def _location_exists(self, key: SessionKey | None) -> bool:
        if key is None:
            return False
        if key not in self.read_locations:
            raise _NotRead
        return key in self.snapshot.locations


def read_batch(sessions: SessionsPort, records: list[RecordKeys]) -> BatchReads:
    """Everything the records match on, in one consistent batch read (plus one for the sessions their
    uid claims name), and one reserved number per record that will create a session."""
    read_sessions = {number for record in records if (number := record.session_key) is not None}
    read_claims = {uid for record in records if (uid := record.claim_key) is not None}
    read_locations = {place for record in records if (place := record.location_key) is not None}
    first = sessions.read_many(read_sessions, read_claims, read_locations)
    decisions = [
        (
            record,
            decide_match(
                record.keys,
                record.session_key in first.sessions,
                first.claims.get(record.claim_key) if record.claim_key is not None else None,
            ),
        )
        for record in records
    ]
    claimed = {
        (record.event_id, decision.session_number)
        for record, decision in decisions
        if decision.by is MatchBy.ORGANISATION_UID and decision.session_number is not None
    } - read_sessions
    found = dict(first.sessions)
    if claimed:
        found.update(sessions.read_many(claimed).sessions)
    creates: dict[str, int] = defaultdict(int)
    for record, decision in decisions:
        if decision.action is MatchAction.CREATE:
            creates[record.organisation] += 1
    numbers = {
        organisation: sessions.allocate_numbers(organisation, SESSION_KIND, count)
        for organisation, count in creates.items()
    }
    return BatchReads(
        snapshot=SessionsSnapshot(found, first.claims, first.locations),
        read_sessions=read_sessions | claimed,
        read_claims=read_claims,
        read_locations=read_locations,
        numbers=numbers,
    )
