"""DynamoDB TransactWriteItems as a unit of work: named items, one retry policy, a typed result.

DynamoDB cancels a whole transaction when any item's condition is false, or a concurrent transaction
touched one of its items, and reports why per item, in request order. Here the reasons are mapped back
to the names the caller gave the items, so nobody depends on their order:
- a failed condition is an answer, not an error: `ConditionFailed` with each such item as stored;
- contention and throttling (`TransactionConflict`, `ThrottlingError` …) are retried with jittered
  backoff (botocore does not retry cancelled transactions), then `Exhausted`;
- `ValidationError` (e.g. an item over the size limit) can never succeed: WriteRejected, not retried;
- any other failure (after botocore's own retries) is StoreUnavailable.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_ingest import limits
from session_ingest.adapters.aws import client
from session_ingest.adapters.dynamodb_items import from_item
from session_ingest.adapters.store_errors import error_code, translate
from session_ingest.errors import StoreUnavailable, WriteRejected
from session_ingest.service.ports import (
    CommitResult,
    Committed,
    ConditionFailed,
    Exhausted,
    TransactItem,
)

CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailed"
# Per-item reasons that mean "try the same writes again", not "your condition is false".
RETRYABLE_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
PERMANENT_REASONS = frozenset({"ValidationError", "ItemCollectionSizeLimitExceeded"})
MAX_ITEMS = 100  # DynamoDB's limit per TransactWriteItems


def _backoff_seconds(attempt: int) -> float:
    return random.uniform(0, limits.TRANSACTION_CONFLICT_BACKOFF_SECONDS * (attempt + 1))


class DynamoUnitOfWork:
    """One TransactWriteItems call of named items (at most 100)."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._items: dict[str, TransactItem] = {}
        self._sleep = sleep

    def add(self, name: str, item: TransactItem) -> None:
        if name in self._items:
            raise ValueError(f"transact item {name!r} added twice")
        if len(self._items) == MAX_ITEMS:
            raise ValueError(f"a transaction holds at most {MAX_ITEMS} items")
        self._items[name] = item

    def commit(self) -> CommitResult:
        names = list(self._items)
        reasons: dict[str, str] = {}
        for attempt in range(limits.TRANSACTION_CONFLICT_RETRIES + 1):
            if attempt:
                self._sleep(_backoff_seconds(attempt))
            try:
                client("dynamodb").transact_write_items(TransactItems=list(self._items.values()))
            except BotoCoreError as error:
                raise translate(error) from error
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise translate(error) from error
                raw: list[dict[str, Any]] = error.response.get("CancellationReasons") or []
                reasons = {name: str(r.get("Code") or "None") for name, r in zip(names, raw, strict=False)}
                failed = {
                    name: from_item(r["Item"]) if r.get("Item") else None
                    for name, r in zip(names, raw, strict=False)
                    if r.get("Code") == CONDITIONAL_CHECK_FAILED
                }
                if failed:
                    return ConditionFailed(failed)
                if PERMANENT_REASONS & set(reasons.values()):
                    raise WriteRejected(f"transaction refused: {reasons}") from error
                if not RETRYABLE_REASONS & set(reasons.values()):
                    raise StoreUnavailable(f"transaction cancelled: {reasons}") from error
                continue
            return Committed()
        return Exhausted(reasons)


def dynamo_unit_of_work() -> DynamoUnitOfWork:
    return DynamoUnitOfWork()
