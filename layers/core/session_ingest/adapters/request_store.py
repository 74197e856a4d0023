"""Request outcome items and Idempotency-Key claims in the requests table.

Acceptance is one TransactWriteItems: the rate counter's conditional increment, the request item
(`queued`) and, when the client sent an Idempotency-Key, the key's claim. Either all three are
written or none, so a rate-limited or repeated request leaves no trace, and a counted request always
has its item. A cancelled transaction says why through its CancellationReasons (item by item, with
the old item returned for failed conditions), so telling 429 from a replay costs no extra read.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_ingest import limits
from session_ingest.adapters.aws import client
from session_ingest.adapters.dynamodb_items import from_item, to_item
from session_ingest.adapters.rate_limiter import count_of, counter_key, counter_update
from session_ingest.domain.idempotency import IdempotencyClaim, StoredClaim
from session_ingest.domain.models import RequestOutcome, RequestStatus
from session_ingest.domain.rate_limit import RateWindow
from session_ingest.domain.utc import format_utc
from session_ingest.observability import logger
from session_ingest.settings import get_settings

_COUNTER, _REQUEST, _CLAIM = 0, 1, 2
_CONDITION_FAILED = "ConditionalCheckFailed"
_CONFLICT = "TransactionConflict"


def request_key(request_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"REQUEST#{request_id}"}}


def claim_key(endpoint_id: str, key_sha256: str) -> dict[str, Any]:
    return {"pk": {"S": f"IDEMPOTENCY#{endpoint_id}#{key_sha256}"}}


class StoreUnavailable(Exception):
    """DynamoDB did not take the write (throttling past retries, outage, unexpected cancellation)."""


@dataclass
class CounterExhausted(Exception):
    """The window's counter is at its limit; `count` is what the store holds."""

    count: int


@dataclass
class KeyAlreadyClaimed(Exception):
    """A live claim holds the Idempotency-Key."""

    existing: StoredClaim


def _request_item(outcome: RequestOutcome) -> dict[str, Any]:
    expires_at = int(outcome.accepted_at.timestamp()) + limits.REQUEST_RETENTION_SECONDS
    values = {
        "pk": request_key(outcome.request_id)["pk"]["S"],
        "request_id": outcome.request_id,
        "endpoint_id": outcome.endpoint_id,
        "status": outcome.status.value,
        "accepted_at": format_utc(outcome.accepted_at),
        "warnings": [warning.model_dump() for warning in outcome.warnings],
        "errors": list(outcome.errors),
        "expires_at": expires_at,
    }
    # Nested None values stay as NULL: every warning map keeps its {code, field, message} keys.
    return to_item(values)


def _claim_put(claim: IdempotencyClaim, now: datetime) -> dict[str, Any]:
    epoch = int(now.timestamp())
    item = to_item(
        {
            "pk": claim_key(claim.endpoint_id, claim.key_sha256)["pk"]["S"],
            "endpoint_id": claim.endpoint_id,
            "request_id": claim.request_id,
            "body_sha256": claim.body_sha256,
            "queued": False,
            "claimed_at": epoch,
            "expires_at": epoch + limits.IDEMPOTENCY_RETENTION_SECONDS,
        }
    )
    return {
        "Put": {
            "TableName": get_settings().requests_table,
            "Item": item,
            # Free, or expired (TTL deletes lazily). A claim left unconfirmed by a request that died in
            # flight is not taken over here: that request may have been queued, so a repeat finishes it
            # under its own id (service.ingest) instead of queuing the body again under a new one.
            "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
            "ExpressionAttributeValues": {":now": {"N": str(epoch)}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _stored_claim(item: dict[str, Any]) -> StoredClaim:
    values = from_item(item)
    return StoredClaim(
        values["request_id"],
        values["body_sha256"],
        bool(values.get("queued", False)),
        int(values.get("claimed_at", 0)),
    )


class RequestStore:
    """Writes and reads of request items and idempotency claims."""

    @property
    def _table(self) -> str:
        return get_settings().requests_table

    def record_accepted(
        self, outcome: RequestOutcome, window: RateWindow, claim: IdempotencyClaim | None, now: datetime
    ) -> None:
        """Count the request, store its `queued` item and claim its key, atomically.

        Raises CounterExhausted (429), KeyAlreadyClaimed (a repeat) or StoreUnavailable.
        """
        items = [
            counter_update(window),
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _request_item(outcome),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        if claim is not None:
            items.append(_claim_put(claim, now))
        for attempt in range(limits.TRANSACTION_CONFLICT_RETRIES + 1):
            try:
                client("dynamodb").transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                if not self._conflicted(error) or attempt == limits.TRANSACTION_CONFLICT_RETRIES:
                    raise self._reason(error) from error
                # botocore does not retry cancelled transactions; back off briefly, with jitter, so the
                # colliding writers spread out.
                time.sleep(random.uniform(0, limits.TRANSACTION_CONFLICT_BACKOFF_SECONDS * (attempt + 1)))
            except BotoCoreError as error:
                raise StoreUnavailable(str(error)) from error

    @staticmethod
    def _conflicted(error: ClientError) -> bool:
        """Cancelled only because a concurrent transaction touched one of the items: worth a retry."""
        reasons = error.response.get("CancellationReasons") or []
        codes = {reason.get("Code") for reason in reasons}
        return _CONFLICT in codes and _CONDITION_FAILED not in codes

    @staticmethod
    def _reason(error: ClientError) -> Exception:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            return StoreUnavailable(error.response["Error"]["Code"])
        reasons = error.response.get("CancellationReasons") or []
        codes = [reason.get("Code") for reason in reasons]
        if len(codes) > _COUNTER and codes[_COUNTER] == _CONDITION_FAILED:
            return CounterExhausted(count_of(reasons[_COUNTER].get("Item")))
        if len(codes) > _CLAIM and codes[_CLAIM] == _CONDITION_FAILED and reasons[_CLAIM].get("Item"):
            return KeyAlreadyClaimed(_stored_claim(reasons[_CLAIM]["Item"]))
        return StoreUnavailable(f"transaction cancelled: {codes}")

    def mark_not_queued(self, request_id: str, reason: str) -> None:
        """Record that the request's message never reached the queue (its client was told to retry)."""
        client("dynamodb").update_item(
            TableName=self._table,
            Key=request_key(request_id),
            UpdateExpression="SET #status = :failed, #errors = list_append(#errors, :reason)",
            ConditionExpression="#status = :queued",
            ExpressionAttributeNames={"#status": "status", "#errors": "errors"},
            ExpressionAttributeValues={
                ":failed": {"S": RequestStatus.FAILED.value},
                ":queued": {"S": RequestStatus.QUEUED.value},
                ":reason": {"L": [{"S": reason}]},
            },
        )

    def reopen(self, outcome: RequestOutcome, not_queued_reason: str) -> bool:
        """Store a request `queued` again when it is known never to have reached the queue (its item is
        missing, or failed with `not_queued_reason`). False when the item says otherwise by now."""
        try:
            client("dynamodb").put_item(
                TableName=self._table,
                Item=_request_item(outcome),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#status = :failed AND contains(#errors, :not_queued))"
                ),
                ExpressionAttributeNames={"#status": "status", "#errors": "errors"},
                ExpressionAttributeValues={
                    ":failed": {"S": RequestStatus.FAILED.value},
                    ":not_queued": {"S": not_queued_reason},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_claim(self, claim: IdempotencyClaim) -> None:
        """Give the key back after a failed send, so the client's retry with it can succeed."""
        client("dynamodb").delete_item(
            TableName=self._table,
            Key=claim_key(claim.endpoint_id, claim.key_sha256),
            ConditionExpression="request_id = :request_id",
            ExpressionAttributeValues={":request_id": {"S": claim.request_id}},
        )

    def confirm_claim(self, claim: IdempotencyClaim) -> None:
        """Mark the key's request as queued: from now on a repeat is answered with its request id."""
        client("dynamodb").update_item(
            TableName=self._table,
            Key=claim_key(claim.endpoint_id, claim.key_sha256),
            UpdateExpression="SET queued = :true",
            ConditionExpression="request_id = :request_id",
            ExpressionAttributeValues={":true": {"BOOL": True}, ":request_id": {"S": claim.request_id}},
        )

    def get_outcome(self, request_id: str) -> RequestOutcome | None:
        """A request's outcome (strongly consistent read), or None."""
        item = (
            client("dynamodb")
            .get_item(TableName=self._table, Key=request_key(request_id), ConsistentRead=True)
            .get("Item")
        )
        return None if item is None else RequestOutcome.model_validate(from_item(item))

    def outcome_and_count(self, request_id: str, window: RateWindow) -> tuple[RequestOutcome | None, int]:
        """A request's outcome and the window's exact count, in one consistent BatchGetItem."""
        keys: list[dict[str, Any]] = [request_key(request_id), counter_key(window)]
        found: list[dict[str, Any]] = []
        for _ in range(limits.TRANSACTION_CONFLICT_RETRIES + 1):
            response = client("dynamodb").batch_get_item(
                RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
            )
            found.extend(response["Responses"].get(self._table, []))
            keys = response.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            if not keys:
                break
        else:
            logger.warning("batch_get_item left keys unprocessed", extra={"unprocessed": len(keys)})
            raise StoreUnavailable("unprocessed keys")
        by_pk = {item["pk"]["S"]: item for item in found}
        request_item = by_pk.get(request_key(request_id)["pk"]["S"])
        count = count_of(by_pk.get(counter_key(window)["pk"]["S"]))
        if request_item is None:
            return None, count
        return RequestOutcome.model_validate(from_item(request_item)), count
