"""Batch ingest (contract §4b), pure: the body's items, their verdicts, accept times, the answer's status.

Each item is judged exactly as `POST …/{endpoint_id}` judges a body: `payload_verdict` is the one rule
both use (the endpoint's JSON Schema, then its mapping and field rules). A batch body nests each payload
two levels deeper than a single body (`{"items": [payload]}`), so its depth limit is two levels more:
the same payload is accepted alone or in a batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from session_ingest import limits
from session_ingest.domain.idempotency import Repeat, StoredClaim, judge_repeat
from session_ingest.domain.json_body import parse_json_body
from session_ingest.domain.mapping import map_payload
from session_ingest.domain.models import EndpointConfig, MappingResult
from session_ingest.domain.sessions import mergeable_fields, stored_size_bytes
from session_ingest.errors import FieldError, ValidationFailed

BATCH_MAX_JSON_DEPTH = limits.MAX_JSON_DEPTH + 2
NOT_AN_OBJECT = FieldError("$", "The payload must be a JSON object")
ITEMS_FIELD = "items"
_ITEMS_RULE = f"must be an array of 1 to {limits.MAX_BATCH_ITEMS} payloads"


class ItemStatus(StrEnum):
    QUEUED = "queued"
    INVALID = "invalid"
    RETRY = "retry"  # valid, but not queued yet: the client's retry with the same key queues it


def batch_items(raw: bytes) -> list[Any]:
    """The payloads of a batch body `{"items": [...]}`: 400 when it is not strict JSON, 422 (`items`)
    when it has no items array of 1..MAX_BATCH_ITEMS entries."""
    document = parse_json_body(raw, max_depth=BATCH_MAX_JSON_DEPTH)
    items = document.get(ITEMS_FIELD) if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ValidationFailed(
            [FieldError(ITEMS_FIELD, f"The body must be an object whose {ITEMS_FIELD} {_ITEMS_RULE}")]
        )
    if not 1 <= len(items) <= limits.MAX_BATCH_ITEMS:
        raise ValidationFailed([FieldError(ITEMS_FIELD, f"items {_ITEMS_RULE}, not {len(items)}")])
    return items


def _schema_errors(payload: dict[str, Any], schema: dict[str, Any]) -> list[FieldError]:
    # Imported here: only endpoints with a JSON Schema need its checks (domain/json_schema.py).
    from session_ingest.domain.json_schema import schema_errors

    return schema_errors(payload, schema)


def payload_verdict(config: EndpointConfig, payload: Any) -> MappingResult:
    """The endpoint's verdict on one parsed payload: a record (and warnings), or the field errors (capped)."""
    if not isinstance(payload, dict):
        return MappingResult(errors=[NOT_AN_OBJECT])
    errors = _schema_errors(payload, config.json_schema) if config.json_schema is not None else []
    mapped = map_payload(payload, config.mapping, config.organisation, config.endpoint_type)
    errors.extend(mapped.errors)
    if errors or mapped.record is None:
        return MappingResult(errors=errors[: limits.MAX_VALIDATION_DETAILS] or [NOT_AN_OBJECT])
    size = stored_size_bytes(mergeable_fields(mapped.record))
    if size > limits.MAX_STORED_SESSION_BYTES:
        # It could never be stored (nor queued whole): refused now rather than failed later.
        too_large = FieldError(
            "$",
            f"the normalised record takes about {size:,} bytes; a stored session holds at most "
            f"{limits.MAX_STORED_SESSION_BYTES:,}",
        )
        return MappingResult(errors=[too_large])
    return mapped


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch with its verdict. `mapped.ok` items become requests; the others are reported."""

    index: int
    payload: Any
    mapped: MappingResult
    error_type: str | None = None  # why an invalid item is invalid: validation_error or payload_too_large

    @property
    def valid(self) -> bool:
        return self.mapped.ok


def judge_items(config: EndpointConfig, items: list[Any]) -> list[BatchItem]:
    """Every item's verdict, in order. An item larger than a single body may be is refused as alone."""
    judged = []
    for index, payload in enumerate(items):
        if _encoded_bytes(payload) > limits.MAX_BODY_BYTES:
            too_large = FieldError("$", f"The payload must not be larger than {limits.MAX_BODY_BYTES} bytes")
            judged.append(BatchItem(index, payload, MappingResult(errors=[too_large]), "payload_too_large"))
            continue
        mapped = payload_verdict(config, payload)
        judged.append(BatchItem(index, payload, mapped, None if mapped.ok else "validation_error"))
    return judged


def _encoded_bytes(payload: Any) -> int:
    """The payload's size as a client would send it alone (compact JSON, UTF-8)."""
    if not isinstance(payload, dict | list):
        return 0
    return len(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    )


def item_accept_time(batch_accepted_at: datetime, index: int) -> datetime:
    """Accept times follow item order (one microsecond apart), so a later item wins for the same field."""
    return batch_accepted_at + timedelta(microseconds=index)


def batch_status(statuses: list[ItemStatus]) -> int:
    """200 all queued, 207 some queued and some invalid, 422 none valid, 503 when any valid one waits."""
    if ItemStatus.RETRY in statuses:
        return 503
    if all(status is ItemStatus.QUEUED for status in statuses):
        return 200
    return 207 if ItemStatus.QUEUED in statuses else 422


# ----------------------------------------------------------------------------------- Idempotency-Key


@dataclass(frozen=True)
class BatchClaim:
    """A batch's claim on its Idempotency-Key: the request id each valid item got (None: invalid item)
    and the batch's accept time (the items' accept times follow from it, `item_accept_time`)."""

    endpoint_id: str
    key_sha256: str
    body_sha256: str
    request_ids: tuple[str | None, ...]
    accepted_at: datetime


@dataclass(frozen=True)
class StoredBatchClaim:
    """A batch claim found in the store, with how far its batch got.

    `progress_recorded` is set once the first attempt has sent what it could; `queued_indexes` are then
    the items SQS took (across every attempt so far).
    """

    request_ids: tuple[str | None, ...]
    body_sha256: str
    complete: bool
    progress_recorded: bool
    queued_indexes: frozenset[int]
    accepted_at: datetime
    claimed_at: int = 0  # epoch seconds

    def as_claim(self, endpoint_id: str, key_sha256: str) -> BatchClaim:
        return BatchClaim(endpoint_id, key_sha256, self.body_sha256, self.request_ids, self.accepted_at)


def judge_batch_repeat(existing: StoredBatchClaim, body_sha256: str, now_epoch: float) -> Repeat:
    """What a batch repeating an existing key gets: as a single request (`judge_repeat`), except that a
    batch whose first attempt answered 503 with items to retry is finished at once (ABANDONED: finish
    the first batch under its own request ids), not treated as still in flight."""
    if existing.body_sha256 == body_sha256 and not existing.complete and existing.progress_recorded:
        return Repeat.ABANDONED
    stored = StoredClaim("", existing.body_sha256, existing.complete, existing.claimed_at)
    return judge_repeat(stored, body_sha256, now_epoch)
