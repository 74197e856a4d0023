"""The shared per-endpoint rate counter (requests table, pk=RATE#<endpoint_id>#<window_start>).

Every Lambda instance increments the same item with a condition `count < limit`, so no more than
`limit` requests are admitted per window however many instances run. An accepted request increments
it inside the acceptance transaction (see request_store); requests that stop earlier (400, 422, a dry
run) spend their unit through `consume`, one UpdateItem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from session_ingest.adapters.aws import client
from session_ingest.domain.rate_limit import RateWindow
from session_ingest.settings import get_settings

COUNT_ATTRIBUTE = "request_count"
_NAMES = {"#count": COUNT_ATTRIBUTE}


def counter_key(window: RateWindow) -> dict[str, Any]:
    return {"pk": {"S": f"RATE#{window.endpoint_id}#{window.start}"}}


def count_of(item: dict[str, Any] | None) -> int:
    """The count held by a counter item in the low-level format (0 when there is none yet)."""
    if not item or COUNT_ATTRIBUTE not in item:
        return 0
    return int(item[COUNT_ATTRIBUTE]["N"])


def _increment(window: RateWindow) -> dict[str, Any]:
    """UpdateItem arguments adding one request to the window, only while it is below the limit."""
    return {
        "TableName": get_settings().requests_table,
        "Key": counter_key(window),
        "UpdateExpression": "ADD #count :one SET expires_at = :expires_at",
        "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
        "ExpressionAttributeNames": _NAMES,
        "ExpressionAttributeValues": {
            ":one": {"N": "1"},
            ":limit": {"N": str(window.limit)},
            # Kept one window past its end, then DynamoDB's TTL removes it.
            ":expires_at": {"N": str(window.end + window.seconds)},
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def counter_update(window: RateWindow) -> dict[str, Any]:
    """The counter increment as one item of a TransactWriteItems call."""
    return {"Update": _increment(window)}


@dataclass(frozen=True)
class Consumed:
    """The outcome of spending one unit: admitted or not, and the count the store reported."""

    admitted: bool
    count: int


def consume(window: RateWindow) -> Consumed:
    """Spend one unit of the window outside a transaction; learns the exact count either way."""
    try:
        response = client("dynamodb").update_item(**_increment(window), ReturnValues="UPDATED_NEW")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return Consumed(admitted=False, count=count_of(error.response.get("Item")))
    return Consumed(admitted=True, count=count_of(response.get("Attributes")))
