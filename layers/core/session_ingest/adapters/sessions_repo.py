"""The sessions table: sessions, organisation-uid claims and per-organisation counters (DynamoDB).

Keys (template.yaml): pk=EVENT#<event_id> sk=SESSION#<n> (a session), sk=UID#<uid> (a uid claim),
sk=LOCATION#<n> (a location); pk=ORG#<org> sk=COUNTER#<kind> (the next <n>). Decisions are made on
strongly consistent reads of key-addressed items; the GSIs only find and list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from session_ingest.adapters.aws import client
from session_ingest.adapters.dynamodb_items import from_item, to_attribute, to_item
from session_ingest.adapters.store_errors import translated
from session_ingest.domain.matching import ClaimWrite
from session_ingest.domain.resource_ids import format_resource_id
from session_ingest.domain.sessions import (
    RESERVED_ATTRIBUTES,
    SESSION_KIND,
    StoredSession,
    UidClaim,
    event_organisation_uid,
)
from session_ingest.domain.utc import format_utc, parse_utc
from session_ingest.service.ports import ClaimKey, SessionKey, SessionsSnapshot, TransactItem

# Re-exported: the values this adapter reads and writes are the sessions port's.
from session_ingest.service.ports import NewSession as NewSession
from session_ingest.service.ports import SessionChange as SessionChange

RESOURCE_ID_INDEX = "ResourceIdIndex"
MAX_BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem
SESSION_PREFIX = "SESSION#"
LOCATION_PREFIX = "LOCATION#"


def event_pk(event_id: int) -> str:
    return f"EVENT#{event_id}"


def session_key(event_id: int, number: int) -> dict[str, Any]:
    return {"pk": {"S": event_pk(event_id)}, "sk": {"S": f"{SESSION_PREFIX}{number}"}}


def claim_key(event_id: int, organisation_uid: str) -> dict[str, Any]:
    return {"pk": {"S": event_pk(event_id)}, "sk": {"S": f"UID#{organisation_uid}"}}


def location_key(event_id: int, number: int) -> dict[str, Any]:
    return {"pk": {"S": event_pk(event_id)}, "sk": {"S": f"{LOCATION_PREFIX}{number}"}}


def counter_key(organisation: str, kind: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORG#{organisation}"}, "sk": {"S": f"COUNTER#{kind}"}}


def _key_id(key: Mapping[str, Any]) -> tuple[str, str]:
    return key["pk"]["S"], key["sk"]["S"]


def session_from_item(item: dict[str, Any]) -> StoredSession:
    """A StoredSession from a raw DynamoDB session item."""
    values = from_item(item)
    return StoredSession(
        event_id=int(values["event_id"]),
        number=int(str(values["sk"]).removeprefix(SESSION_PREFIX)),
        resource_id=str(values["resource_id"]),
        version=int(values["version"]),
        fields={name: value for name, value in values.items() if name not in RESERVED_ATTRIBUTES},
        field_accepted_at={
            name: parse_utc(str(moment)) for name, moment in values.get("field_accepted_at", {}).items()
        },
        organisation=str(values["organisation"]) if values.get("organisation") else None,
    )


def claim_from_item(item: dict[str, Any]) -> UidClaim:
    values = from_item(item)
    # Claims written before they carried their organisation name it in their session's resource id.
    organisation = values.get("organisation") or str(values.get("session_resource_id", "")).split("/")[0]
    return UidClaim(
        organisation_uid=str(values["organisation_uid"]),
        holders=tuple(int(number) for number in values.get("holders", [])),
        version=int(values["version"]),
        organisation=str(organisation) or None,
    )


def public_session(values: Mapping[str, Any]) -> dict[str, Any]:
    """A stored session as operators see it: the record fields and bookkeeping, without the keys."""
    hidden = {"pk", "sk", "event_organisation_uid"}
    return {name: value for name, value in sorted(values.items()) if name not in hidden}


def allocate_number(table_name: str, organisation: str, kind: str) -> int:
    """The next number of `kind` for the organisation: an atomic counter, never handed out twice.

    A number taken by a create whose transaction is then cancelled is simply never used (a gap).
    """
    return allocate_numbers(table_name, organisation, kind, 1)[0]


def allocate_numbers(table_name: str, organisation: str, kind: str, count: int) -> list[int]:
    """The next `count` numbers of `kind` for the organisation, in one atomic counter update."""
    with translated():
        response = client("dynamodb").update_item(
            TableName=table_name,
            Key=counter_key(organisation, kind),
            UpdateExpression="ADD #value :count",
            ExpressionAttributeNames={"#value": "value"},
            ExpressionAttributeValues={":count": {"N": str(count)}},
            ReturnValues="UPDATED_NEW",
        )
    last = int(response["Attributes"]["value"]["N"])
    return list(range(last - count + 1, last + 1))


class SessionsRepository:
    """Reads and transactional writes of the sessions table."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    # -- reads -----------------------------------------------------------------------------------------

    def read_many(
        self,
        sessions: Iterable[SessionKey] = (),
        claims: Iterable[ClaimKey] = (),
        locations: Iterable[SessionKey] = (),
    ) -> SessionsSnapshot:
        """Sessions, uid claims and locations by key, in strongly consistent BatchGetItem calls of 100 keys
        (one for an SQS batch of 10 records)."""
        session_keys = {key: session_key(*key) for key in set(sessions)}
        claim_keys = {key: claim_key(*key) for key in set(claims)}
        location_keys = {key: location_key(*key) for key in set(locations)}
        every = [*session_keys.values(), *claim_keys.values(), *location_keys.values()]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(every), MAX_BATCH_GET_KEYS):
            found.update(self._batch_get(every[start : start + MAX_BATCH_GET_KEYS]))
        return SessionsSnapshot(
            sessions={
                key: session_from_item(found[_key_id(k)])
                for key, k in session_keys.items()
                if _key_id(k) in found
            },
            claims={
                key: claim_from_item(found[_key_id(k)])
                for key, k in claim_keys.items()
                if _key_id(k) in found
            },
            locations=frozenset(key for key, k in location_keys.items() if _key_id(k) in found),
        )

    def _batch_get(self, keys: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        if not keys:
            return {}
        if len(keys) == 1:
            with translated():
                item = client("dynamodb").get_item(
                    TableName=self.table_name, Key=keys[0], ConsistentRead=True
                )
            return {_key_id(keys[0]): item["Item"]} if "Item" in item else {}
        found: dict[tuple[str, str], dict[str, Any]] = {}
        request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        while request:
            with translated():
                response = client("dynamodb").batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.table_name, []):
                found[_key_id(item)] = item
            request = response.get("UnprocessedKeys") or {}
        return found

    def get_session(self, event_id: int, number: int) -> StoredSession | None:
        with translated():
            response = client("dynamodb").get_item(
                TableName=self.table_name, Key=session_key(event_id, number), ConsistentRead=True
            )
        return session_from_item(response["Item"]) if "Item" in response else None

    def get_claim(self, event_id: int, organisation_uid: str) -> UidClaim | None:
        with translated():
            response = client("dynamodb").get_item(
                TableName=self.table_name, Key=claim_key(event_id, organisation_uid), ConsistentRead=True
            )
        return claim_from_item(response["Item"]) if "Item" in response else None

    def list_sessions(self, event_id: int) -> Iterator[dict[str, Any]]:
        """Every session of an event, in key order (a Query, paginated)."""
        paginator = client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": event_pk(event_id)}, ":prefix": {"S": SESSION_PREFIX}},
        ):
            for item in page.get("Items", []):
                yield from_item(item)

    def find_by_resource_id(self, resource_id: str) -> dict[str, Any] | None:
        """The session with this resource id, through ResourceIdIndex (eventually consistent)."""
        response = client("dynamodb").query(
            TableName=self.table_name,
            IndexName=RESOURCE_ID_INDEX,
            KeyConditionExpression="resource_id = :rid",
            ExpressionAttributeValues={":rid": {"S": resource_id}},
        )
        for item in response.get("Items", []):
            values = from_item(item)
            if str(values.get("sk", "")).startswith(SESSION_PREFIX):
                return values
        return None

    # -- writes ----------------------------------------------------------------------------------------

    def allocate_number(self, organisation: str, kind: str) -> int:
        return allocate_number(self.table_name, organisation, kind)

    def allocate_numbers(self, organisation: str, kind: str, count: int) -> list[int]:
        return allocate_numbers(self.table_name, organisation, kind, count)

    def put_new_session(self, new: NewSession, now: datetime) -> TransactItem:
        """Transact item creating a session; fails if the number is somehow taken."""
        resource_id = format_resource_id(new.organisation, SESSION_KIND, new.number)
        moment = format_utc(new.accepted_at)
        values: dict[str, Any] = {
            **new.fields,
            "resource_id": resource_id,
            "organisation": new.organisation,
            "event_id": new.event_id,
            "version": 1,
            "field_accepted_at": dict.fromkeys(new.fields, moment),
            "created_at": format_utc(now),
            "updated_at": format_utc(now),
        }
        uid = new.fields.get("organisation_uid")
        if uid:
            values["event_organisation_uid"] = event_organisation_uid(new.event_id, str(uid))
        item = {**to_item(values), **session_key(new.event_id, new.number)}
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def update_session(self, change: SessionChange, now: datetime) -> TransactItem:
        """Transact item writing `change.fields` (and their accept times) if the version is unchanged."""
        names: dict[str, str] = {"#version": "version", "#fa": "field_accepted_at"}
        values: dict[str, Any] = {
            ":expected": {"N": str(change.session.version)},
            ":one": {"N": "1"},
            ":now": {"S": format_utc(now)},
            ":accepted": {"S": format_utc(change.accepted_at)},
        }
        assignments = ["#version = #version + :one", "updated_at = :now"]
        for index, (name, value) in enumerate(sorted(change.fields.items())):
            names[f"#f{index}"] = name
            values[f":v{index}"] = to_attribute(value)
            assignments.append(f"#f{index} = :v{index}")
            assignments.append(f"#fa.#f{index} = :accepted")
        if change.organisation_uid is not None:
            values[":euid"] = {"S": event_organisation_uid(change.session.event_id, change.organisation_uid)}
            assignments.append("event_organisation_uid = :euid")
        condition = "#version = :expected"
        if change.organisation is not None:  # never write another organisation's session
            names["#org"] = "organisation"
            values[":org"] = {"S": change.organisation}
            condition += " AND #org = :org"
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": session_key(change.session.event_id, change.session.number),
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def write_claim(self, event_id: int, organisation: str, write: ClaimWrite, now: datetime) -> TransactItem:
        """Transact item for one claim write, conditional on the claim being exactly as it was read and
        belonging to `organisation` (a claim written before claims named their organisation is judged by
        its session's resource id)."""
        key = claim_key(event_id, write.organisation_uid)
        owned = (
            "#version = :expected AND (#org = :org OR "
            "(attribute_not_exists(#org) AND begins_with(session_resource_id, :prefix)))"
        )
        owned_names = {"#version": "version", "#org": "organisation"}

        def owned_values(expected: UidClaim) -> dict[str, Any]:
            return {
                ":expected": {"N": str(expected.version)},
                ":org": {"S": organisation},
                ":prefix": {"S": f"{organisation}/"},
            }

        if not write.holders:
            if write.expected is None:
                raise ValueError("only an existing claim can lose its last holder")
            return {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": key,
                    "ConditionExpression": owned,
                    "ExpressionAttributeNames": owned_names,
                    "ExpressionAttributeValues": owned_values(write.expected),
                }
            }
        version = 1 if write.expected is None else write.expected.version + 1
        values = {
            "organisation_uid": write.organisation_uid,
            "organisation": organisation,
            "holders": list(write.holders),
            # Deliberately not `resource_id`: claims must stay out of ResourceIdIndex.
            "session_resource_id": format_resource_id(organisation, SESSION_KIND, write.holders[0]),
            "version": version,
            "updated_at": format_utc(now),
        }
        put: dict[str, Any] = {"TableName": self.table_name, "Item": {**to_item(values), **key}}
        if write.expected is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = owned
            put["ExpressionAttributeNames"] = owned_names
            put["ExpressionAttributeValues"] = owned_values(write.expected)
        return {"Put": put}
