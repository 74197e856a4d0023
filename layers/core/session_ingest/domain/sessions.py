"""Stored sessions and organisation-uid claims as the consumer's rules see them (pure, no I/O)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from session_ingest.domain.resource_ids import ResourceKind

SESSION_KIND: Final[ResourceKind] = "session"
LOCATION_KIND: Final[ResourceKind] = "location"

# Record fields that select a session rather than describe it: never merged into the stored fields.
MATCH_ONLY_FIELDS = frozenset({"resource_id"})
ORGANISATION_UID_FIELD = "organisation_uid"
LOCATION_FIELD = "location_resource_id"

# Attributes the consumer owns on a stored session; a record can never set them.
RESERVED_ATTRIBUTES = frozenset(
    {
        "pk",
        "sk",
        "resource_id",
        "organisation",
        "event_id",
        "event_organisation_uid",
        "version",
        "field_accepted_at",
        "created_at",
        "updated_at",
    }
)


@dataclass(frozen=True)
class StoredSession:
    """A session as read back, with the accept time of the request that last set each field."""

    event_id: int
    number: int
    resource_id: str
    version: int
    fields: Mapping[str, Any]
    field_accepted_at: Mapping[str, datetime] = field(default_factory=dict)
    organisation: str | None = None  # the organisation that owns it (every stored session names one)

    @property
    def organisation_uid(self) -> str | None:
        value = self.fields.get(ORGANISATION_UID_FIELD)
        return str(value) if value else None


@dataclass(frozen=True)
class UidClaim:
    """The key-addressed item that makes an organisation uid unique per event.

    `holders` lists the session numbers carrying the uid, in the order they took it. Normally one; more
    only after contract §6 rule 4 (a uid set through rule 1 on a second session). Matching by uid resolves to
    the first holder, so the claim keeps pointing at the session that held the uid first: uid-only
    updates stay on the session the integrator has been updating, and never flip between duplicates.
    """

    organisation_uid: str
    holders: tuple[int, ...]
    version: int
    organisation: str | None = None  # the organisation whose sessions hold the uid

    @property
    def primary(self) -> int:
        return self.holders[0]


def foreign_match_key(
    organisation: str,
    session: StoredSession | None,
    claim: UidClaim | None,
    claimed: StoredSession | None = None,
) -> str | None:
    """The match key ("resource_id" or "organisation_uid") that found another organisation's data.

    An event belongs to exactly one organisation (contract §3), so such data means a misconfigured or
    forged message: it must never be matched, read back or written (None: everything found is ours).
    """
    if session is not None and session.organisation not in (None, organisation):
        return "resource_id"
    for owned in (claim, claimed):
        if owned is not None and owned.organisation not in (None, organisation):
            return "organisation_uid"
    return None


# Keys, resource id, organisation, event id, version, created/updated times: generously.
_BOOKKEEPING_BYTES = 1024
_ACCEPTED_AT_BYTES = len("2026-06-14T23:00:00.000000Z")


def stored_size_bytes(fields: Mapping[str, Any]) -> int:
    """An upper estimate of a session item's size in DynamoDB's terms (UTF-8 names plus values).

    Each field also has its accept time under `field_accepted_at`; values are counted as their JSON
    text, which is at least their DynamoDB size for strings, numbers, lists and maps.
    """
    size = _BOOKKEEPING_BYTES
    for name, value in fields.items():
        name_bytes = len(name.encode())
        value_bytes = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
        size += 2 * name_bytes + value_bytes + _ACCEPTED_AT_BYTES
    return size


def event_organisation_uid(event_id: int, organisation_uid: str) -> str:
    """The OrganisationUidIndex key: uids are unique per event, not globally."""
    return f"{event_id}#{organisation_uid}"


def mergeable_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's descriptive fields: everything but the fields that only select a session."""
    return {name: value for name, value in record.items() if name not in MATCH_ONLY_FIELDS}


def reserved_fields_in(record: Mapping[str, Any]) -> list[str]:
    """Record fields that would overwrite consumer-owned attributes (a record of that shape is invalid)."""
    return sorted(name for name in record if name in RESERVED_ATTRIBUTES - MATCH_ONLY_FIELDS)
