"""The requests table, and its one owner: request outcomes, Idempotency-Key claims, rate counters.

Keys (template.yaml RequestsTable): pk=REQUEST#<request_id> (an outcome), pk=IDEMPOTENCY#<endpoint>#<key
sha256> (a key's claim), pk=RATE#<endpoint>#<window start> (a window's counter).

Every outcome write is one move of `domain.request_lifecycle`, and its DynamoDB condition is built from
that table's allowed sources, so the store can only make an allowed move. Which move is made when is
decided in `service.request_outcomes`; this module only knows how. Everything returned is a domain type,
and botocore's errors become the service's own (StoreUnavailable, WriteRejected).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from session_ingest import limits
from session_ingest.adapters.aws import client
from session_ingest.adapters.dynamodb_items import from_item, to_attribute, to_item
from session_ingest.adapters.store_errors import CONDITION_FAILED, applied, error_code, translate, translated
from session_ingest.domain.idempotency import IdempotencyClaim, StoredClaim
from session_ingest.domain.models import IngestWarning, StoredOutcome
from session_ingest.domain.rate_limit import RateWindow
from session_ingest.domain.request_lifecycle import (
    REACCEPTABLE_FAILURES,
    FailureKind,
    Move,
    RequestRef,
    RequestStatus,
    sources,
)
from session_ingest.domain.utc import format_utc, parse_utc
from session_ingest.errors import StoreUnavailable
from session_ingest.observability import logger
from session_ingest.service.ports import Consumed, TransactItem

if TYPE_CHECKING:
    # Batch claims and listings are only some requests' (their types are imported where they are built).
    from session_ingest.domain.batch import BatchClaim, StoredBatchClaim
    from session_ingest.domain.request_listing import ListingPage, ListingPosition, ListingQuery

COUNT_ATTRIBUTE = "request_count"
ENDPOINT_REQUESTS_INDEX = "EndpointRequestsIndex"
REQUEST_PREFIX = "REQUEST#"
_STATUS = {"#status": "status"}


def request_key(request_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"{REQUEST_PREFIX}{request_id}"}}


def claim_key(endpoint_id: str, key_sha256: str) -> dict[str, Any]:
    return {"pk": {"S": f"IDEMPOTENCY#{endpoint_id}#{key_sha256}"}}


def counter_key(endpoint_id: str, window_start: int) -> dict[str, Any]:
    return {"pk": {"S": f"RATE#{endpoint_id}#{window_start}"}}


def _status_values(statuses: frozenset[RequestStatus | None]) -> dict[str, Any]:
    return {f":from_{status.value}": {"S": status.value} for status in statuses if status is not None}


def _condition(move: Move, *, allow_missing: bool = True) -> tuple[str, dict[str, Any]]:
    """The ConditionExpression (and its values) allowing exactly `move`'s sources."""
    allowed = sources(move)
    terms = [f"#status = :from_{status.value}" for status in sorted(s for s in allowed if s is not None)]
    if allow_missing and None in allowed:
        terms.insert(0, "attribute_not_exists(pk)")
    return " OR ".join(terms), _status_values(allowed)


def _warnings(warnings: Sequence[IngestWarning]) -> dict[str, Any]:
    return to_attribute([warning.model_dump() for warning in warnings])


def _identity(ref: RequestRef, values: dict[str, Any]) -> list[str]:
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


def _count(values: dict[str, Any] | None) -> int:
    if not values or COUNT_ATTRIBUTE not in values:
        return 0
    return int(values[COUNT_ATTRIBUTE])


class RequestLedger:
    """Reads and conditional writes of the requests table."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    # -- acceptance (staged in the API's unit of work) ---------------------------------------------------

    def count_request(self, window: RateWindow) -> TransactItem:
        """One more request in the window, only while it is below the limit (a failed condition returns
        the counter, so the count is known without a read)."""
        return {"Update": self._increment(window)}

    def new_request(self, outcome: StoredOutcome) -> TransactItem:
        """The `queued` outcome of a newly accepted request."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": self._outcome_item(outcome),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def claim_key(self, claim: IdempotencyClaim, now: datetime) -> TransactItem:
        """The key's claim: free, or expired (TTL deletes lazily).

        A claim left unconfirmed by a request that died in flight is not taken over here: that request
        may have been queued, so a repeat finishes it under its own id (service.ingest) instead of
        queuing the body again under a new one.
        """
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
        return self._key_claim_put(item, epoch)

    def _key_claim_put(self, item: dict[str, Any], epoch: int) -> TransactItem:
        """Put a claim on an Idempotency-Key unless a live claim holds it (the old one comes back if so)."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                "ExpressionAttributeValues": {":now": {"N": str(epoch)}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def count_in(self, item: dict[str, Any] | None) -> int:
        """The count of a counter item as a failed condition returned it (0 when there is none yet)."""
        return _count(item)

    def claim_in(self, item: dict[str, Any]) -> StoredClaim:
        """The claim as a failed condition returned it."""
        return StoredClaim(
            str(item["request_id"]),
            str(item["body_sha256"]),
            bool(item.get("queued", False)),
            int(item.get("claimed_at", 0)),
        )

    def claim_batch_key(self, claim: BatchClaim, now: datetime) -> TransactItem:
        """A batch's claim on its key (contract §4b): as `claim_key`, holding every item's request id."""
        epoch = int(now.timestamp())
        item = to_item(
            {
                "pk": claim_key(claim.endpoint_id, claim.key_sha256)["pk"]["S"],
                "endpoint_id": claim.endpoint_id,
                "request_ids": [request_id or "" for request_id in claim.request_ids],
                "body_sha256": claim.body_sha256,
                "queued": False,
                "progress_recorded": False,
                "queued_indexes": [],
                "accepted_at": format_utc(claim.accepted_at),
                "claimed_at": epoch,
                "expires_at": epoch + limits.IDEMPOTENCY_RETENTION_SECONDS,
            }
        )
        return self._key_claim_put(item, epoch)

    def batch_claim_in(self, item: dict[str, Any]) -> StoredBatchClaim:
        """A batch claim as a failed condition returned it. A single request's claim on the same key
        reads as a claim of another body (it is one: a single payload, not a batch)."""
        from session_ingest.domain.batch import StoredBatchClaim

        claimed_at = int(item.get("claimed_at", 0))
        if "request_ids" not in item:
            single = f"single:{item.get('body_sha256')}"
            return StoredBatchClaim(
                (), single, True, True, frozenset(), datetime.fromtimestamp(claimed_at, UTC)
            )
        return StoredBatchClaim(
            request_ids=tuple(str(request_id) or None for request_id in item["request_ids"]),
            body_sha256=str(item["body_sha256"]),
            complete=bool(item.get("queued", False)),
            progress_recorded=bool(item.get("progress_recorded", False)),
            queued_indexes=frozenset(int(index) for index in item.get("queued_indexes", [])),
            accepted_at=parse_utc(str(item["accepted_at"])),
            claimed_at=claimed_at,
        )

    # -- acceptance (single calls) -----------------------------------------------------------------------

    def consume(self, window: RateWindow) -> Consumed:
        """Spend one unit of the window outside a transaction; learns the exact count either way."""
        try:
            response = client("dynamodb").update_item(**self._increment(window), ReturnValues="UPDATED_NEW")
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise translate(error) from error
            return Consumed(admitted=False, count=_count(_plain(error.response.get("Item"))))
        except BotoCoreError as error:
            raise translate(error) from error
        return Consumed(admitted=True, count=_count(_plain(response.get("Attributes"))))

    def mark_not_queued(self, request_id: str, reason: str) -> bool:
        """queued -> failed (`not_queued`): the message never reached the queue."""
        condition, values = _condition(Move.FAIL, allow_missing=False)
        return self._update_if(
            request_id,
            "SET #status = :failed, failure_kind = :kind, #errors = list_append(#errors, :reason)",
            condition,
            {**_STATUS, "#errors": "errors"},
            {
                **values,
                ":failed": {"S": RequestStatus.FAILED.value},
                ":kind": {"S": FailureKind.NOT_QUEUED.value},
                ":reason": {"L": [{"S": reason}]},
            },
        )

    def reopen(self, outcome: StoredOutcome) -> bool:
        """Store a request `queued` again when it is known never to have reached the queue (its item is
        missing, or failed `not_queued`). False when the item says otherwise by now."""
        kinds = sorted(REACCEPTABLE_FAILURES)
        kind_terms = " OR ".join(f"failure_kind = :kind_{kind.value}" for kind in kinds)
        return applied(
            lambda: client("dynamodb").put_item(
                TableName=self.table_name,
                Item=self._outcome_item(outcome),
                ConditionExpression=f"attribute_not_exists(pk) OR (#status = :failed AND ({kind_terms}))",
                ExpressionAttributeNames=_STATUS,
                ExpressionAttributeValues={
                    ":failed": {"S": RequestStatus.FAILED.value},
                    **{f":kind_{kind.value}": {"S": kind.value} for kind in kinds},
                },
            )
        )

    def release_claim(self, claim: IdempotencyClaim) -> None:
        """Give the key back after a failed send, so the client's retry with it can succeed."""
        with translated():
            client("dynamodb").delete_item(
                TableName=self.table_name,
                Key=claim_key(claim.endpoint_id, claim.key_sha256),
                ConditionExpression="request_id = :request_id",
                ExpressionAttributeValues={":request_id": {"S": claim.request_id}},
            )

    def confirm_claim(self, claim: IdempotencyClaim) -> None:
        """Mark the key's request as queued: from now on a repeat is answered with its request id."""
        with translated():
            client("dynamodb").update_item(
                TableName=self.table_name,
                Key=claim_key(claim.endpoint_id, claim.key_sha256),
                UpdateExpression="SET queued = :true",
                ConditionExpression="request_id = :request_id",
                ExpressionAttributeValues={
                    ":true": {"BOOL": True},
                    ":request_id": {"S": claim.request_id},
                },
            )

    def record_batch_progress(
        self, claim: BatchClaim, queued_indexes: frozenset[int], complete: bool
    ) -> None:
        """Note which items of the key's batch are queued; `complete` once all its valid ones are, from
        when a repeat is answered with the first results."""
        with translated():
            client("dynamodb").update_item(
                TableName=self.table_name,
                Key=claim_key(claim.endpoint_id, claim.key_sha256),
                UpdateExpression=(
                    "SET queued = :complete, progress_recorded = :true, queued_indexes = :indexes"
                ),
                ConditionExpression="body_sha256 = :body_sha256",
                ExpressionAttributeValues={
                    ":complete": {"BOOL": complete},
                    ":true": {"BOOL": True},
                    ":indexes": to_attribute(sorted(queued_indexes)),
                    ":body_sha256": {"S": claim.body_sha256},
                },
            )

    def get(self, request_id: str) -> StoredOutcome | None:
        """A request's outcome (strongly consistent read), or None."""
        with translated():
            response = client("dynamodb").get_item(
                TableName=self.table_name, Key=request_key(request_id), ConsistentRead=True
            )
        return self.outcome_in(_plain(response.get("Item")))

    def outcome_and_count(self, request_id: str, window: RateWindow) -> tuple[StoredOutcome | None, int]:
        """A request's outcome and the window's exact count, in one consistent BatchGetItem."""
        keys: list[dict[str, Any]] = [request_key(request_id), counter_key(window.endpoint_id, window.start)]
        found: list[dict[str, Any]] = []
        for _ in range(limits.TRANSACTION_CONFLICT_RETRIES + 1):
            with translated():
                response = client("dynamodb").batch_get_item(
                    RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}}
                )
            found.extend(response["Responses"].get(self.table_name, []))
            keys = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
            if not keys:
                break
        else:
            logger.warning("batch_get_item left keys unprocessed", extra={"unprocessed": len(keys)})
            raise StoreUnavailable("unprocessed keys")
        by_pk = {item["pk"]["S"]: from_item(item) for item in found}
        outcome = self.outcome_in(by_pk.get(request_key(request_id)["pk"]["S"]))
        count = _count(by_pk.get(counter_key(window.endpoint_id, window.start)["pk"]["S"]))
        return outcome, count

    # -- listing (operators and integrators) ------------------------------------------------------------

    def list_for_endpoint(self, query: ListingQuery) -> ListingPage:
        """One page of the endpoint's requests, newest first, through EndpointRequestsIndex (no scan).

        A status filter is a FilterExpression, so DynamoDB may return fewer matches than were read: the
        index is read on until the page is full, the requests run out, or MAX_LISTING_READS reads are
        spent (then the page is short and `next` continues after the last request read). One more
        match than the page holds is asked for, so a full page knows whether anything follows.
        """
        from session_ingest.domain.request_listing import ListingPage

        if (
            query.after is not None
            and query.since is not None
            and query.after.accepted_at < format_utc(query.since)
        ):
            # Everything after the cursor is older than `since`; DynamoDB would refuse a start key outside
            # the key condition (a ValidationException), so answer the empty end of the listing here.
            return ListingPage([], None)
        values: dict[str, Any] = {":endpoint": {"S": query.endpoint_id}, ":request": {"S": REQUEST_PREFIX}}
        key_condition = "endpoint_id = :endpoint"
        if query.since is not None:
            key_condition += " AND accepted_at >= :since"
            values[":since"] = {"S": format_utc(query.since)}
        filters = ["begins_with(pk, :request)"]
        names: dict[str, str] = {}
        if query.status is not None:
            filters.append("#status = :status")
            values[":status"] = {"S": query.status.value}
            names = dict(_STATUS)
        start = None if query.after is None else self._index_key(query.endpoint_id, query.after)
        found: list[StoredOutcome] = []
        for _ in range(limits.MAX_LISTING_READS):
            parameters: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": ENDPOINT_REQUESTS_INDEX,
                "KeyConditionExpression": key_condition,
                "FilterExpression": " AND ".join(filters),
                "ExpressionAttributeValues": values,
                "ScanIndexForward": False,
                "Limit": query.limit + 1 - len(found),
            }
            if names:
                parameters["ExpressionAttributeNames"] = names
            if start is not None:
                parameters["ExclusiveStartKey"] = start
            with translated():
                response = client("dynamodb").query(**parameters)
            for item in response.get("Items", []):
                outcome = self.outcome_in(from_item(item))
                if outcome is not None:
                    found.append(outcome)
            start = response.get("LastEvaluatedKey")
            if len(found) > query.limit:
                page = found[: query.limit]
                return ListingPage(page, self._position(page[-1]))
            if start is None:
                return ListingPage(found, None)
        return ListingPage(found, None if start is None else self._position_of_key(start))

    def _index_key(self, endpoint_id: str, position: ListingPosition) -> dict[str, Any]:
        return {
            **request_key(position.request_id),
            "endpoint_id": {"S": endpoint_id},
            "accepted_at": {"S": position.accepted_at},
        }

    def _position(self, outcome: StoredOutcome) -> ListingPosition:
        from session_ingest.domain.request_listing import ListingPosition

        return ListingPosition(format_utc(outcome.accepted_at), outcome.request_id)

    def _position_of_key(self, key: dict[str, Any]) -> ListingPosition:
        from session_ingest.domain.request_listing import ListingPosition

        return ListingPosition(key["accepted_at"]["S"], key["pk"]["S"].removeprefix(REQUEST_PREFIX))

    # -- the consumer's moves ----------------------------------------------------------------------------

    def processed(
        self,
        ref: RequestRef,
        action: str,
        resource_id: str,
        warnings: Sequence[IngestWarning],
        now: datetime,
    ) -> TransactItem:
        """Staged queued -> processed. On a failed condition the item comes back as it is."""
        condition, values = _condition(Move.PROCESS)
        values.update(
            {
                ":processed": {"S": RequestStatus.PROCESSED.value},
                ":now": {"S": format_utc(now)},
                ":action": {"S": action},
                ":resource_id": {"S": resource_id},
                ":warnings": _warnings(warnings),
                ":no_errors": {"L": []},
            }
        )
        assignments = [
            "#status = :processed",
            "processed_at = :now",
            "#action = :action",
            "resource_id = :resource_id",
            "warnings = :warnings",
            "errors = :no_errors",
            *_identity(ref, values),
        ]
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": request_key(ref.request_id),
                "UpdateExpression": "SET " + ", ".join(assignments) + " REMOVE failure_kind",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {**_STATUS, "#action": "action"},
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def outcome_in(self, item: dict[str, Any] | None) -> StoredOutcome | None:
        """The outcome held by a plain item (as read, or as a failed condition returned it)."""
        return None if item is None else StoredOutcome.model_validate(item)

    def mark_failed(
        self,
        ref: RequestRef,
        kind: FailureKind,
        errors: Sequence[str],
        warnings: Sequence[IngestWarning],
        now: datetime,
    ) -> bool:
        """queued -> failed for `kind`, with the human reasons. False when already final (unchanged)."""
        # Only a reference naming its endpoint and accept time may write a missing outcome whole.
        condition, values = _condition(Move.FAIL, allow_missing=ref.complete)
        values.update(
            {
                ":failed": {"S": RequestStatus.FAILED.value},
                ":kind": {"S": kind.value},
                ":now": {"S": format_utc(now)},
                ":errors": to_attribute(list(errors)),
                ":warnings": _warnings(warnings),
            }
        )
        assignments = [
            "#status = :failed",
            "failure_kind = :kind",
            "processed_at = :now",
            "errors = :errors",
            "warnings = :warnings",
            *_identity(ref, values),
        ]
        return self._update_if(ref.request_id, "SET " + ", ".join(assignments), condition, _STATUS, values)

    def note_retry(self, request_id: str, reason: str, now: datetime) -> bool:
        """Record why a delivery failed and will be retried; the outcome stays `queued`."""
        condition, values = _condition(Move.NOTE_RETRY)
        return self._update_if(
            request_id,
            "SET last_error = :reason, last_error_at = :now ADD delivery_attempts :one",
            condition,
            _STATUS,
            {**values, ":reason": {"S": reason}, ":now": {"S": format_utc(now)}, ":one": {"N": "1"}},
        )

    def requeue(self, request_id: str) -> bool:
        """failed -> queued before a dead-lettered message is redriven (a processed outcome stays)."""
        condition, values = _condition(Move.REDRIVE)
        return self._update_if(
            request_id,
            "SET #status = :queued, errors = :no_errors REMOVE processed_at, failure_kind",
            condition,
            _STATUS,
            {**values, ":queued": {"S": RequestStatus.QUEUED.value}, ":no_errors": {"L": []}},
        )

    # -- helpers -----------------------------------------------------------------------------------------

    def _increment(self, window: RateWindow) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Key": counter_key(window.endpoint_id, window.start),
            "UpdateExpression": "ADD #count :one SET expires_at = :expires_at",
            "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
            "ExpressionAttributeNames": {"#count": COUNT_ATTRIBUTE},
            "ExpressionAttributeValues": {
                ":one": {"N": "1"},
                ":limit": {"N": str(window.limit)},
                # Kept one window past its end, then DynamoDB's TTL removes it.
                ":expires_at": {"N": str(window.end + window.seconds)},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _outcome_item(self, outcome: StoredOutcome) -> dict[str, Any]:
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
            "config_version": outcome.config_version,
        }
        # Nested None values stay as NULL: every warning map keeps its {code, field, message} keys.
        return to_item(values)

    def _update_if(
        self,
        request_id: str,
        update: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> bool:
        return applied(
            lambda: client("dynamodb").update_item(
                TableName=self.table_name,
                Key=request_key(request_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )


def _plain(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if not item else from_item(item)
