"""Locations of an event (pk=EVENT#<event_id> sk=LOCATION#<n>) in the sessions table.

Sessions reference them by `{org}/location/{n}`; the consumer checks a reference exists before storing it.
A location is created together with its event's owner claim (contract §3: an event has one organisation),
so another organisation's location can never be added to an event.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from session_ingest.adapters.aws import client
from session_ingest.adapters.dynamodb_items import from_item, to_item
from session_ingest.adapters.endpoint_store import OWNER_ITEM, event_owner_put, owner_refusal
from session_ingest.adapters.sessions_repo import LOCATION_PREFIX, allocate_number, event_pk, location_key
from session_ingest.adapters.unit_of_work import dynamo_unit_of_work
from session_ingest.domain.resource_ids import format_resource_id
from session_ingest.domain.sessions import LOCATION_KIND
from session_ingest.domain.utc import format_utc
from session_ingest.errors import StoreUnavailable
from session_ingest.service.ports import ConditionFailed, Exhausted

LOCATION = "location"


def public_location(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in sorted(values.items()) if name not in {"pk", "sk"}}


class LocationsRepository:
    """Create, read and list an event's locations."""

    def __init__(self, table_name: str, endpoints_table: str) -> None:
        self.table_name = table_name
        self.endpoints_table = endpoints_table

    def create(self, organisation: str, event_id: int, name: str, now: datetime) -> dict[str, Any]:
        """Store a new location numbered from the organisation's location counter; return it.

        Raises EventOwnedElsewhere when the event belongs to another organisation (nothing is stored; the
        number drawn is skipped, as after any cancelled create). An event nobody owns yet is claimed.
        """
        number = allocate_number(self.table_name, organisation, LOCATION_KIND)
        values: dict[str, Any] = {
            "resource_id": format_resource_id(organisation, LOCATION_KIND, number),
            "id": number,
            "name": name,
            "event_id": event_id,
            "organisation": organisation,
            "created_at": format_utc(now),
        }
        uow = dynamo_unit_of_work()
        uow.add(OWNER_ITEM, event_owner_put(self.endpoints_table, event_id, organisation))
        uow.add(
            LOCATION,
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {**to_item(values), **location_key(event_id, number)},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        )
        result = uow.commit()
        if isinstance(result, ConditionFailed) and (refusal := owner_refusal(result, event_id)):
            raise refusal
        if isinstance(result, ConditionFailed | Exhausted):
            raise StoreUnavailable(f"location not stored: {result}")
        return values

    def get(self, event_id: int, number: int) -> dict[str, Any] | None:
        response = client("dynamodb").get_item(
            TableName=self.table_name, Key=location_key(event_id, number), ConsistentRead=True
        )
        return public_location(from_item(response["Item"])) if "Item" in response else None

    def list_locations(self, event_id: int) -> Iterator[dict[str, Any]]:
        paginator = client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": event_pk(event_id)}, ":prefix": {"S": LOCATION_PREFIX}},
        ):
            for item in page.get("Items", []):
                yield public_location(from_item(item))
