"""contract §6 matching decisions and organisation-uid claim bookkeeping (pure: the reads happen elsewhere).

Rules: 1. a resource id found in the endpoint's event wins; 2. else an organisation uid with a claim;
3. else create. 4. a uid on more than one session is allowed but reported: the claim lists every holder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from session_ingest.domain.resource_ids import parse_resource_number
from session_ingest.domain.sessions import ORGANISATION_UID_FIELD, SESSION_KIND, UidClaim


class MatchAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"


class MatchBy(StrEnum):
    RESOURCE_ID = "resource_id"
    ORGANISATION_UID = "organisation_uid"


@dataclass(frozen=True)
class MatchKeys:
    """What a record offers to match on: a session number (from its resource id) and an organisation uid."""

    session_number: int | None
    organisation_uid: str | None


def match_keys(record: Mapping[str, Any], organisation: str) -> MatchKeys:
    """Read the match keys of a normalised record. Raises ValueError for another organisation's id."""
    resource_id = record.get("resource_id")
    number = None
    if resource_id is not None and str(resource_id).strip():
        number = parse_resource_number(str(resource_id), SESSION_KIND, organisation)
    uid = record.get(ORGANISATION_UID_FIELD)
    return MatchKeys(session_number=number, organisation_uid=str(uid) if uid else None)


@dataclass(frozen=True)
class MatchDecision:
    """Create, or update the session numbered `session_number`, and which rule decided it."""

    action: MatchAction
    by: MatchBy | None
    session_number: int | None


CREATE = MatchDecision(action=MatchAction.CREATE, by=None, session_number=None)


def decide_match(keys: MatchKeys, session_found: bool, claim: UidClaim | None) -> MatchDecision:
    """Apply rules 1-3 to what the strongly consistent key reads found.

    `session_found`: the session numbered `keys.session_number` exists in this event.
    `claim`: the uid claim of `keys.organisation_uid` in this event, if any.
    """
    if keys.session_number is not None and session_found:
        return MatchDecision(MatchAction.UPDATE, MatchBy.RESOURCE_ID, keys.session_number)
    if keys.organisation_uid is not None and claim is not None and claim.holders:
        return MatchDecision(MatchAction.UPDATE, MatchBy.ORGANISATION_UID, claim.primary)
    return CREATE


@dataclass(frozen=True)
class ClaimWrite:
    """One conditional write of a uid claim: `expected` is the claim as read (None: must not exist yet);
    `holders` is its new holder list (empty: delete the claim)."""

    organisation_uid: str
    expected: UidClaim | None
    holders: tuple[int, ...]


@dataclass(frozen=True)
class UidPlan:
    """The claim writes a session's uid change needs, and the holders when the uid is on several sessions."""

    writes: tuple[ClaimWrite, ...]
    duplicate_holders: tuple[int, ...]

    @property
    def is_duplicate(self) -> bool:
        return len(self.duplicate_holders) > 1


def plan_uid_claims(
    session_number: int,
    previous_uid: str | None,
    new_uid: str | None,
    new_claim: UidClaim | None,
    previous_claim: UidClaim | None,
) -> UidPlan:
    """Claim bookkeeping for session `session_number` taking `new_uid` (None: the uid is not changing).

    The session joins the new uid's holders (appended, so the first holder stays the one uid matching
    resolves to) and leaves the previous uid's holders; a claim left with no holder is deleted. When the
    new uid ends up with more than one holder, that is contract §6 rule 4's duplicate.
    """
    if new_uid is None:
        return UidPlan(writes=(), duplicate_holders=())
    writes: list[ClaimWrite] = []
    holders = new_claim.holders if new_claim is not None else ()
    if session_number not in holders:
        holders = (*holders, session_number)
        writes.append(ClaimWrite(new_uid, new_claim, holders))
    if (
        previous_uid is not None
        and previous_uid != new_uid
        and previous_claim is not None
        and session_number in previous_claim.holders
    ):
        remaining = tuple(n for n in previous_claim.holders if n != session_number)
        writes.append(ClaimWrite(previous_uid, previous_claim, remaining))
    return UidPlan(writes=tuple(writes), duplicate_holders=holders if len(holders) > 1 else ())
