"""HTTP replies of the ingest API: the one place where results and errors become status, body, headers.

Bodies follow contract §4. Beyond its table:
- 400 `invalid_query`: a listing's `status`, `since`, `limit` or `cursor` cannot be used (a cursor of
  another endpoint, or altered); the `errors` text names the parameter.
- 400 `invalid_idempotency_key`: the Idempotency-Key header is empty, over 255 characters or holds
  control characters (a malformed request header, like malformed JSON, rather than a payload that
  fails validation, so 400 and not 422).
- 409 `idempotency_in_progress` (with Retry-After): the first request with the same key and body is
  still being stored and queued; its outcome is not known yet (as the IETF Idempotency-Key draft says).
- 503 `service_unavailable` (with Retry-After): the request could not be stored or queued. 500
  `internal_error`: anything unexpected. Both tell the client the request was not queued, to retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from session_ingest.domain.batch import ItemStatus
from session_ingest.domain.rate_limit import RateLimitState
from session_ingest.errors import (
    EndpointNotFound,
    EnqueueFailed,
    IdempotencyConflict,
    IdempotencyInProgress,
    InvalidIdempotencyKey,
    InvalidListingQuery,
    MalformedJson,
    PayloadTooLarge,
    RateLimited,
    RequestNotFound,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
)
from session_ingest.service.ingest import AcceptedRequest, DryRun, OutcomeLookup, RequestListing
from session_ingest.service.request_outcomes import outcome_view

if TYPE_CHECKING:
    from session_ingest.service.batch_ingest import BatchAnswer, ItemResult

VALIDATION_MESSAGE = "The provided payload is not in the correct format for this endpoint"
RETRY_MESSAGE = "The request was not queued; retry it"


@dataclass(frozen=True)
class ApiReply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error_type(self) -> str | None:
        value = self.body.get("error_type")
        return value if isinstance(value, str) else None


def rate_limit_headers(state: RateLimitState) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(state.limit),
        "RateLimit-Remaining": str(state.remaining),
        "RateLimit-Reset": str(state.reset_seconds),
    }


def _failure(status: int, message: str, error_type: str, **extra: Any) -> ApiReply:
    headers = extra.pop("headers", {})
    return ApiReply(
        status, {"message": message, "success": False, "error_type": error_type, **extra}, headers
    )


def accepted_reply(accepted: AcceptedRequest) -> ApiReply:
    body = {"success": True, "request_id": accepted.request_id}
    return ApiReply(200, body, rate_limit_headers(accepted.rate))


def dry_run_reply(result: DryRun) -> ApiReply:
    body = {
        "success": True,
        "record": result.record,
        "warnings": [warning.model_dump() for warning in result.warnings],
        "match": result.match.model_dump(),
    }
    return ApiReply(200, body, rate_limit_headers(result.rate))


def outcome_reply(lookup: OutcomeLookup) -> ApiReply:
    return ApiReply(200, outcome_view(lookup.outcome), rate_limit_headers(lookup.rate))


def listing_reply(listing: RequestListing) -> ApiReply:
    return ApiReply(200, listing.document, rate_limit_headers(listing.rate))


def not_found_reply() -> ApiReply:
    return _failure(404, "Not Found", "not_found")


def error_reply(error: Exception) -> ApiReply:
    """The reply for any exception a request ends with; unknown ones become 500 internal_error."""
    match error:
        case PayloadTooLarge(max_bytes=max_bytes):
            return _failure(
                413,
                "Payload Too Large",
                "payload_too_large",
                errors=f"The body must not be larger than {max_bytes} bytes",
            )
        case UnsupportedMediaType():
            return _failure(
                415,
                "Unsupported Media Type",
                "unsupported_media_type",
                errors="Content-Type must be application/json",
            )
        case Unauthenticated():
            return _failure(
                401, "Unauthenticated", "authentication_error", headers={"WWW-Authenticate": "Bearer"}
            )
        case EndpointNotFound() | RequestNotFound():
            return not_found_reply()
        case RateLimited(limit=limit, reset_seconds=reset):
            headers = {"Retry-After": str(reset), **rate_limit_headers(RateLimitState(limit, 0, reset))}
            return _failure(429, "Too Many Requests", "rate_limited", headers=headers)
        case MalformedJson(reason=reason):
            return _failure(400, "Invalid", "malformed_json", errors=reason)
        case InvalidIdempotencyKey(reason=reason):
            return _failure(400, "Invalid", "invalid_idempotency_key", errors=reason)
        case InvalidListingQuery():
            return _failure(400, "Invalid", "invalid_query", errors=str(error))
        case ValidationFailed(errors=field_errors):
            details = [field_error.as_dict() for field_error in field_errors]
            return _failure(422, "Invalid", "validation_error", errors=VALIDATION_MESSAGE, details=details)
        case IdempotencyConflict():
            return _failure(
                422,
                "Invalid",
                "idempotency_conflict",
                errors="This Idempotency-Key was already used with a different payload",
            )
        case IdempotencyInProgress(retry_after_seconds=retry_after):
            return _failure(
                409,
                "Conflict",
                "idempotency_in_progress",
                errors="A request with this Idempotency-Key is still being processed; retry shortly",
                headers={"Retry-After": str(retry_after)},
            )
        case EnqueueFailed():
            return _failure(
                503,
                "Service Unavailable",
                "service_unavailable",
                errors=RETRY_MESSAGE,
                headers={"Retry-After": "1"},
            )
        case _:
            return _failure(500, "Internal Server Error", "internal_error", errors=RETRY_MESSAGE)


NO_VALID_ITEM_MESSAGE = "None of the items is in the correct format for this endpoint"
BATCH_RETRY_MESSAGE = (
    "Some items were not queued (status retry); retry the batch with the same Idempotency-Key"
)


def _item_result(result: ItemResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"index": result.index, "status": result.status.value}
    if result.request_id is not None:
        entry["request_id"] = result.request_id
    if result.status is ItemStatus.INVALID:
        entry["error_type"] = result.error_type
        entry["details"] = [detail.as_dict() for detail in result.details]
    return entry


def batch_reply(answer: BatchAnswer) -> ApiReply:
    """200 all queued, 207 some invalid, 422 none valid, 503 some to retry (contract §4b)."""
    status = answer.status
    results = [_item_result(result) for result in answer.results]
    headers = rate_limit_headers(answer.rate)
    if status == 422:
        return _failure(
            422, "Invalid", "validation_error", errors=NO_VALID_ITEM_MESSAGE, results=results, headers=headers
        )
    if status == 503:
        headers["Retry-After"] = "1"
        return _failure(
            503,
            "Service Unavailable",
            "service_unavailable",
            errors=BATCH_RETRY_MESSAGE,
            results=results,
            headers=headers,
        )
    return ApiReply(status, {"success": status == 200, "results": results}, headers)
