"""Operator lookups of stored sessions that the service itself never makes (so not in the Lambda layer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from session_ingest.adapters.aws import client
from session_ingest.adapters.dynamodb_items import from_item
from session_ingest.adapters.sessions_repo import SESSION_PREFIX, claim_from_item, claim_key, public_session
from session_ingest.domain.sessions import event_organisation_uid

ORGANISATION_UID_INDEX = "OrganisationUidIndex"
# BatchGetItem reads at most this many keys per call.
BATCH_GET_KEYS = 100


@dataclass(frozen=True)
class UidHolders:
    """The sessions of an event holding one organisation uid (several: duplicates, contract §6 rule 4)."""

    event_id: int
    organisation_uid: str
    sessions: list[dict[str, Any]] = field(default_factory=list)
    matched_by_uid: str | None = None  # the holder a uid-only payload updates (the claim's first holder)

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "organisation_uid": self.organisation_uid,
            "count": len(self.sessions),
            "matched_by_uid": self.matched_by_uid,
            "sessions": self.sessions,
        }


def find_uid_holders(table_name: str, event_id: int, organisation_uid: str) -> UidHolders:
    """Every session of the event whose organisation uid is `organisation_uid`.

    Found through the OrganisationUidIndex GSI (a Query, never a scan), then read back consistently with
    the uid's claim: the index is eventually consistent, so a session that has just taken another uid
    is dropped, and the claim says which holder uid-only payloads update.
    """
    keys = _indexed_session_keys(table_name, event_id, organisation_uid)
    claim = claim_key(event_id, organisation_uid)
    items = _consistent_batch_get(table_name, [claim, *keys])
    first_holder = next((claim_from_item(item).primary for item in items if item["sk"] == claim["sk"]), None)
    holders = sorted(
        (
            values
            for values in (from_item(item) for item in items if item["sk"] != claim["sk"])
            if values.get("organisation_uid") == organisation_uid
        ),
        key=lambda values: _session_number(values["sk"]),
    )
    matched = next(
        (str(values["resource_id"]) for values in holders if _session_number(values["sk"]) == first_holder),
        None,
    )
    return UidHolders(event_id, organisation_uid, [public_session(values) for values in holders], matched)


def _session_number(sort_key: str) -> int:
    return int(sort_key.removeprefix(SESSION_PREFIX))


def _indexed_session_keys(table_name: str, event_id: int, organisation_uid: str) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = []
    pages = (
        client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=table_name,
            IndexName=ORGANISATION_UID_INDEX,
            KeyConditionExpression="event_organisation_uid = :euid",
            ExpressionAttributeValues={":euid": {"S": event_organisation_uid(event_id, organisation_uid)}},
        )
    )
    for page in pages:
        keys.extend({"pk": item["pk"], "sk": item["sk"]} for item in page.get("Items", []))
    return keys


def _consistent_batch_get(table_name: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_KEYS):
        request: dict[str, Any] = {
            table_name: {"Keys": keys[start : start + BATCH_GET_KEYS], "ConsistentRead": True}
        }
        while request:
            response = client("dynamodb").batch_get_item(RequestItems=request)
            found.extend(response.get("Responses", {}).get(table_name, []))
            request = response.get("UnprocessedKeys") or {}
    return found
