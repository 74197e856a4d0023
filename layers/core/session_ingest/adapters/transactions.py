"""TransactWriteItems with its cancellation reasons turned into a typed error.

DynamoDB cancels a whole transaction when any condition fails and reports, per item and in request order,
why (`ConditionalCheckFailed`, `TransactionConflict`, `None` …). Callers need to know *which* condition
failed (a redelivered request? a racing create? a concurrent update?), so the reasons are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from session_ingest.adapters.aws import client
from session_ingest.adapters.dynamodb_items import from_item

CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailed"
# Per-item reasons that mean "try again", not "your condition is false".
RETRYABLE_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)


@dataclass(frozen=True)
class CancellationReason:
    code: str
    item: dict[str, Any] | None = None


@dataclass
class TransactionCancelled(Exception):
    """The transaction did not apply; `reasons[i]` belongs to the i-th transact item."""

    reasons: list[CancellationReason] = field(default_factory=list)

    def __str__(self) -> str:
        return "transaction cancelled: " + ", ".join(reason.code for reason in self.reasons)

    def failed_condition(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index].code == CONDITIONAL_CHECK_FAILED

    @property
    def retryable(self) -> bool:
        return any(reason.code in RETRYABLE_REASONS for reason in self.reasons)


def _reasons(error: ClientError) -> list[CancellationReason]:
    raw = error.response.get("CancellationReasons") or []
    return [
        CancellationReason(code=str(reason.get("Code") or "None"), item=from_item(reason["Item"]))
        if reason.get("Item")
        else CancellationReason(code=str(reason.get("Code") or "None"))
        for reason in raw
    ]


def transact_write(items: list[dict[str, Any]]) -> None:
    """Apply `items` all or nothing; TransactionCancelled (with per-item reasons) when refused."""
    try:
        client("dynamodb").transact_write_items(TransactItems=items)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
            raise TransactionCancelled(_reasons(error)) from error
        raise
