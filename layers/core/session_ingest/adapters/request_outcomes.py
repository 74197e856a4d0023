"""The consumer's side of the request outcome items (RequestsTable, pk=REQUEST#<request_id>).

The ingest API writes the item `queued`. It moves to `processed` in the same transaction as the session
write, or to `failed`, each only from `queued`: the item doubles as the consumer's idempotency record, so
a redelivered message finds it final and changes nothing. While a message is being retried the item stays
`queued` and carries the last error (`last_error`, `last_error_at`, `delivery_attempts`) so the dead-letter
tooling can say why a message ended up there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from session_ingest import limits
from session_ingest.adapters.aws import client
from session_ingest.adapters.dynamodb_items import from_item, to_attribute
from session_ingest.adapters.request_store import request_key
from session_ingest.domain.models import IngestWarning, RequestStatus
from session_ingest.domain.utc import format_utc

# The final move is allowed from `queued`, or onto a missing item (a message sent without the API, e.g.
# by an operator): the outcome is then written whole from the envelope.
_FROM_QUEUED = "attribute_not_exists(pk) OR #status = :queued"


@dataclass(frozen=True)
class RequestRef:
    """What the consumer knows of a request from its envelope (enough to write a missing outcome whole)."""

    request_id: str
    endpoint_id: str | None = None
    accepted_at: datetime | None = None


def _identity(ref: RequestRef, names: dict[str, str], values: dict[str, Any]) -> list[str]:
    """`if_not_exists` assignments that complete an outcome item the API never wrote."""
    assignments = ["request_id = if_not_exists(request_id, :request_id)"]
    values[":request_id"] = {"S": ref.request_id}
    if ref.endpoint_id is not None:
        assignments.append("endpoint_id = if_not_exists(endpoint_id, :endpoint_id)")
        values[":endpoint_id"] = {"S": ref.endpoint_id}
    if ref.accepted_at is not None:
        expires = ref.accepted_at + timedelta(seconds=limits.REQUEST_RETENTION_SECONDS)
        assignments.append("accepted_at = if_not_exists(accepted_at, :accepted_at)")
        assignments.append("expires_at = if_not_exists(expires_at, :expires_at)")
        values[":accepted_at"] = {"S": format_utc(ref.accepted_at)}
        values[":expires_at"] = {"N": str(int(expires.timestamp()))}
    return assignments


def _warnings(warnings: Sequence[IngestWarning]) -> dict[str, Any]:
    return to_attribute([warning.model_dump() for warning in warnings])


class RequestOutcomes:
    """Conditional transitions of request outcome items."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def processed(
        self,
        ref: RequestRef,
        action: str,
        resource_id: str,
        warnings: Sequence[IngestWarning],
        now: datetime,
    ) -> dict[str, Any]:
        """Transact item: queued -> processed. On a failed condition DynamoDB returns the item as it is."""
        names = {"#status": "status", "#action": "action"}
        values: dict[str, Any] = {
            ":queued": {"S": RequestStatus.QUEUED.value},
            ":processed": {"S": RequestStatus.PROCESSED.value},
            ":now": {"S": format_utc(now)},
            ":action": {"S": action},
            ":resource_id": {"S": resource_id},
            ":warnings": _warnings(warnings),
            ":no_errors": {"L": []},
        }
        assignments = [
            "#status = :processed",
            "processed_at = :now",
            "#action = :action",
            "resource_id = :resource_id",
            "warnings = :warnings",
            "errors = :no_errors",
            *_identity(ref, names, values),
        ]
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": request_key(ref.request_id),
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": _FROM_QUEUED,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def mark_failed(
        self, ref: RequestRef, errors: Sequence[str], warnings: Sequence[IngestWarning], now: datetime
    ) -> bool:
        """queued -> failed with the reasons. False when the outcome was already final (nothing changed)."""
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":queued": {"S": RequestStatus.QUEUED.value},
            ":failed": {"S": RequestStatus.FAILED.value},
            ":now": {"S": format_utc(now)},
            ":errors": to_attribute(list(errors)),
            ":warnings": _warnings(warnings),
        }
        assignments = [
            "#status = :failed",
            "processed_at = :now",
            "errors = :errors",
            "warnings = :warnings",
            *_identity(ref, names, values),
        ]
        # Only an envelope that names its endpoint and accept time may write a missing outcome whole.
        condition = _FROM_QUEUED if ref.endpoint_id and ref.accepted_at else "#status = :queued"
        return self._update_if(ref.request_id, "SET " + ", ".join(assignments), condition, names, values)

    def note_retry(self, request_id: str, reason: str, now: datetime) -> bool:
        """Record why a delivery failed and will be retried; the outcome stays `queued`."""
        return self._update_if(
            request_id,
            "SET last_error = :reason, last_error_at = :now ADD delivery_attempts :one",
            "#status = :queued",
            {"#status": "status"},
            {
                ":queued": {"S": RequestStatus.QUEUED.value},
                ":reason": {"S": reason},
                ":now": {"S": format_utc(now)},
                ":one": {"N": "1"},
            },
        )

    def mark_dead_lettered(self, request_id: str, reason: str, now: datetime) -> bool:
        """queued -> failed because the message sits in the dead-letter queue."""
        return self._update_if(
            request_id,
            "SET #status = :failed, processed_at = :now, errors = :errors",
            "#status = :queued",
            {"#status": "status"},
            {
                ":queued": {"S": RequestStatus.QUEUED.value},
                ":failed": {"S": RequestStatus.FAILED.value},
                ":now": {"S": format_utc(now)},
                ":errors": to_attribute([f"dead-lettered: {reason}"]),
            },
        )

    def requeue(self, request_id: str) -> bool:
        """failed -> queued before a dead-lettered message is redriven (a processed outcome stays)."""
        return self._update_if(
            request_id,
            "SET #status = :queued, errors = :no_errors REMOVE processed_at",
            "#status = :queued OR #status = :failed",
            {"#status": "status"},
            {
                ":queued": {"S": RequestStatus.QUEUED.value},
                ":failed": {"S": RequestStatus.FAILED.value},
                ":no_errors": {"L": []},
            },
        )

    def get(self, request_id: str) -> dict[str, Any] | None:
        response = client("dynamodb").get_item(
            TableName=self.table_name, Key=request_key(request_id), ConsistentRead=True
        )
        return from_item(response["Item"]) if "Item" in response else None

    def _update_if(
        self,
        request_id: str,
        update: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> bool:
        try:
            client("dynamodb").update_item(
                TableName=self.table_name,
                Key=request_key(request_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
