"""Finding the session a record matches (contract §6 rules 1-3), shared by the consumer and the dry run.

Only strongly consistent reads of key-addressed items decide: the session by its number, the uid claim,
then the claimed session. The API's `/test` route (service.match_preview) and the consumer both call
`find_match`, so what the dry run reports is exactly what the consumer will do with the same stored data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from session_ingest.domain.matching import MatchBy, MatchDecision, MatchKeys, decide_match
from session_ingest.domain.sessions import StoredSession, UidClaim, foreign_match_key
from session_ingest.errors import OrganisationMismatch, TransientFailure
from session_ingest.service.ports import SessionsPort


@dataclass(frozen=True)
class Match:
    """The decision and everything read to make it (reused by the write that follows)."""

    decision: MatchDecision
    session: StoredSession | None  # the session to update; None: create
    claim: UidClaim | None  # the claim of the record's organisation uid, as read
    location_exists: bool
    resource_id_unmatched: bool  # a resource id was given but is not a session of this event


_Key = TypeVar("_Key")


class InconsistentClaim(TransientFailure):
    """A uid claim names a session that does not exist (never written so; left for an operator via DLQ)."""


def find_match(
    sessions: SessionsPort,
    organisation: str,
    event_id: int,
    keys: MatchKeys,
    location_number: int | None = None,
) -> Match:
    """Rules 1-3 on consistent reads: one batch read (of at most three keys), plus the claimed session
    when matched by uid.

    Raises OrganisationMismatch when a key finds another organisation's session or uid claim: matching
    never crosses organisations, even for a message that names another organisation's event.
    """
    session_key = None if keys.session_number is None else (event_id, keys.session_number)
    claim_key = None if keys.organisation_uid is None else (event_id, keys.organisation_uid)
    location_key = None if location_number is None else (event_id, location_number)
    found = sessions.read_many(_given(session_key), _given(claim_key), _given(location_key))
    return match_from(
        organisation,
        event_id,
        keys,
        found.sessions.get(session_key) if session_key is not None else None,
        found.claims.get(claim_key) if claim_key is not None else None,
        location_key in found.locations,
        lambda number: sessions.get_session(event_id, number),
    )


def _given(key: _Key | None) -> tuple[_Key, ...]:
    return () if key is None else (key,)


def match_from(
    organisation: str,
    event_id: int,
    keys: MatchKeys,
    session_by_number: StoredSession | None,
    claim: UidClaim | None,
    location_exists: bool,
    claimed_session: Callable[[int], StoredSession | None],
) -> Match:
    """Rules 1-3 on what consistent reads found: the session numbered by the record's resource id, the
    claim of its uid, whether its location exists; `claimed_session` reads the session a claim names.

    Raises OrganisationMismatch when a key finds another organisation's session or uid claim."""
    foreign = foreign_match_key(organisation, session_by_number, claim)
    if foreign is not None:
        raise OrganisationMismatch(foreign, event_id)
    decision = decide_match(keys, session_by_number is not None, claim)
    session = session_by_number if decision.by is MatchBy.RESOURCE_ID else None
    if decision.by is MatchBy.ORGANISATION_UID and decision.session_number is not None:
        session = claimed_session(decision.session_number)
        if session is None:
            raise InconsistentClaim(
                f"organisation uid {keys.organisation_uid!r} is claimed by missing session "
                f"{decision.session_number} of event {event_id}"
            )
        if foreign_match_key(organisation, session, None) is not None:
            raise OrganisationMismatch("organisation_uid", event_id)
    return Match(
        decision=decision,
        session=session,
        claim=claim,
        location_exists=location_exists,
        resource_id_unmatched=keys.session_number is not None and session_by_number is None,
    )
