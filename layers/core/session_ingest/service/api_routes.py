"""OpenAPI metadata of the ingest API's routes (contract §4): statuses, headers and body schema names.

The handler passes these to Powertools' route decorators, so the OpenAPI document is generated from
the routes themselves (`ingestctl.openapi`). Bodies are named here by component (`$ref`) rather than
by model class: the models live in `api_schemas`, which the Lambda never imports (cold start), and the
generator adds them to the document's components. Plain dicts: nothing here costs an import.
"""

from __future__ import annotations

from typing import Any, cast

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from session_ingest import limits

# An OpenAPI Header object (Powertools' own TypedDict lacks `required`).
Headers = dict[str, dict[str, Any]]

BEARER_SCHEME = "bearerAuth"
SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
TAGS = ["ingest"]


def component(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _one_of(*names: str) -> dict[str, Any]:
    schemas = [{"$ref": f"#/components/schemas/{name}"} for name in names]
    return {"application/json": {"schema": {"oneOf": schemas}}}


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": schema}


_SECONDS = {"type": "integer", "minimum": 0}
REQUEST_ID_HEADER: Headers = {
    "X-Request-Id": _header(
        "API Gateway's request id; the accepted request's `request_id`", {"type": "string"}
    )
}
RATE_LIMIT_HEADERS: Headers = {
    "RateLimit-Limit": _header("Requests allowed per window (a minute)", {"type": "integer", "minimum": 1}),
    "RateLimit-Remaining": _header("Requests left in the current window", {"type": "integer", "minimum": 0}),
    "RateLimit-Reset": _header("Seconds until the window resets", _SECONDS),
}
RETRY_AFTER_HEADER: Headers = {"Retry-After": _header("Seconds to wait before retrying", _SECONDS)}
WWW_AUTHENTICATE_HEADER: Headers = {
    "WWW-Authenticate": _header("The authentication scheme expected", {"type": "string", "const": "Bearer"})
}


def _response(description: str, content: dict[str, Any], *headers: Headers) -> OpenAPIResponse:
    merged: Headers = dict(REQUEST_ID_HEADER)
    for extra in headers:
        merged.update(extra)
    return cast(OpenAPIResponse, {"description": description, "headers": merged, "content": content})


_MALFORMED = _response(
    "The body is not strict JSON (syntax, invalid UTF-8, duplicate keys, NaN/Infinity, unpaired surrogates) "
    "or nests deeper than 32 levels; or the Idempotency-Key header is empty, too long or has control "
    "characters",
    component("MalformedRequest"),
)
_UNAUTHENTICATED = _response(
    "Token missing, malformed, unknown, expired, revoked or for another endpoint (also for an endpoint id "
    "that does not exist, so existence is not revealed)",
    component("Unauthenticated"),
    WWW_AUTHENTICATE_HEADER,
)
_ENDPOINT_NOT_FOUND = _response("The endpoint is disabled (for a valid token)", component("NotFound"))
_TOO_LARGE = _response("The body is larger than 256 KiB", component("PayloadTooLarge"))
_NOT_JSON = _response("Content-Type is not JSON", component("UnsupportedMediaType"))
_INVALID = _response(
    "The payload fails the endpoint's JSON Schema, mapping or field validation (`details` name the fields)",
    component("ValidationFailed"),
)
_RATE_LIMITED = _response(
    "Over the endpoint's rate limit (or API Gateway's throttle)",
    component("RateLimited"),
    RETRY_AFTER_HEADER,
    RATE_LIMIT_HEADERS,
)
_FAILED = _response("An unexpected error; nothing was queued: retry", component("ServerError"))
_GATEWAY_FAILED = _response(
    "The function failed or timed out (API Gateway's answer); nothing was queued: retry",
    component("ServerError"),
)

INGEST_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _response("Stored and queued (not processed yet)", component("Accepted"), RATE_LIMIT_HEADERS),
    400: _MALFORMED,
    401: _UNAUTHENTICATED,
    404: _ENDPOINT_NOT_FOUND,
    409: _response(
        "The first request with this Idempotency-Key and body is still being stored and queued",
        component("IdempotencyInProgress"),
        RETRY_AFTER_HEADER,
    ),
    413: _TOO_LARGE,
    415: _NOT_JSON,
    422: _response(
        "The payload fails validation (`validation_error`), or the Idempotency-Key was used with another "
        "body (`idempotency_conflict`)",
        _one_of("ValidationFailed", "IdempotencyConflict"),
    ),
    429: _RATE_LIMITED,
    500: _FAILED,
    502: _GATEWAY_FAILED,
    503: _response(
        "The request could not be stored or queued; retry", component("ServerError"), RETRY_AFTER_HEADER
    ),
    504: _GATEWAY_FAILED,
}

DRY_RUN_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _response(
        "What processing would store and which session it would match; nothing is stored or queued",
        component("DryRunResult"),
        RATE_LIMIT_HEADERS,
    ),
    400: _MALFORMED,
    401: _UNAUTHENTICATED,
    404: _ENDPOINT_NOT_FOUND,
    413: _TOO_LARGE,
    415: _NOT_JSON,
    422: _INVALID,
    429: _RATE_LIMITED,
    500: _FAILED,
    502: _GATEWAY_FAILED,
    504: _GATEWAY_FAILED,
}

OUTCOME_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _response("The request's outcome", component("RequestOutcome"), RATE_LIMIT_HEADERS),
    401: _UNAUTHENTICATED,
    404: _response(
        "The endpoint is disabled, or no request of this endpoint has this id", component("NotFound")
    ),
    429: _RATE_LIMITED,
    500: _FAILED,
    502: _GATEWAY_FAILED,
    504: _GATEWAY_FAILED,
}

LISTING_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _response(
        "A page of this endpoint's requests, newest first, and the cursor of the next page (null: no more)",
        component("RequestListing"),
        RATE_LIMIT_HEADERS,
    ),
    400: _response(
        "A `status`, `since`, `limit` or `cursor` that cannot be used (a cursor of another endpoint, or "
        "altered)",
        component("BadListingQuery"),
    ),
    401: _UNAUTHENTICATED,
    404: _ENDPOINT_NOT_FOUND,
    429: _RATE_LIMITED,
    500: _FAILED,
    502: _GATEWAY_FAILED,
    504: _GATEWAY_FAILED,
}

INGEST_DESCRIPTION = (
    "Authenticates, rate-limits and validates one payload, stores it and queues it for processing. "
    "A 200 is only ever given once the message is durably queued. Checks run in this order: size (413), "
    "media type (415), token (401), endpoint state (404), rate limit (429), Idempotency-Key and JSON (400), "
    "validation (422). With an `Idempotency-Key`, a repeat with the same body within 24 h answers the first "
    "response and queues nothing."
)
DRY_RUN_DESCRIPTION = (
    "Every check of the ingest call, then the normalised record, its warnings and the session it would "
    "create or update. Nothing is stored or queued; it counts against the rate limit. Idempotency-Key is "
    "ignored."
)
OUTCOME_DESCRIPTION = (
    "The outcome of one of this endpoint's accepted requests; another endpoint's request is as unknown "
    "(404). Does not spend rate-limit units."
)

LISTING_DESCRIPTION = (
    "This endpoint's accepted requests, newest first, each as `GET …/requests/{request_id}` shows it. "
    "Filter by `status` and `since` (accept time); page with `limit` and the `next` cursor of the previous "
    "page (opaque, valid for this endpoint only). A status filter can return a short page before the end: "
    "follow `next` until it is null. Does not spend rate-limit units."
)

# ---------------------------------------------------------------------------------------- request side
# Powertools documents request parameters and bodies only for routes it validates itself. This API reads
# the raw body on purpose (its size is checked before anything is parsed), so the request side of each
# operation is declared here, by operation id, and merged into the generated document.

_UUID_STRING = {"type": "string", "format": "uuid"}
_ENDPOINT_ID = {
    "name": "endpoint_id",
    "in": "path",
    "required": True,
    "description": "The ingest endpoint's id (a UUID)",
    "schema": _UUID_STRING,
}
_REQUEST_ID = {
    "name": "request_id",
    "in": "path",
    "required": True,
    "description": "The `request_id` of an accepted request",
    "schema": _UUID_STRING,
}
# Printable Latin-1 (`str.isprintable`: no controls, no U+00A0 or U+00AD), no space at either end.
_PRINTABLE = r"!-~\u00a1-\u00ac\u00ae-\u00ff"
_PRINTABLE_HEADER_VALUE = rf"^[{_PRINTABLE}](?:[ {_PRINTABLE}]*[{_PRINTABLE}])?$"
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "A repeat with the same key and body within 24 h answers the first response and queues nothing. "
        "1-255 printable characters (HTTP carries header values as Latin-1; surrounding spaces are not "
        "part of a header value)"
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": _PRINTABLE_HEADER_VALUE},
}
_PAYLOAD = {
    "required": True,
    "description": (
        "One JSON object, at most 256 KiB and 32 levels deep. Under the default mapping the session is "
        'under `"session"`; an endpoint\'s mapping rules may place its fields elsewhere.'
    ),
    "content": component("IngestPayload"),
}

_LISTING_QUERY = [
    {
        "name": "status",
        "in": "query",
        "required": False,
        "description": "Only requests in this status",
        "schema": {"type": "string", "enum": ["queued", "processed", "failed"]},
    },
    {
        "name": "since",
        "in": "query",
        "required": False,
        "description": "Only requests accepted at or after this time (ISO 8601)",
        "schema": {"type": "string", "format": "date-time"},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"Requests per page (default {limits.DEFAULT_REQUESTS_PAGE})",
        "schema": {"type": "integer", "minimum": 1, "maximum": limits.MAX_REQUESTS_PAGE},
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The `next` of the previous page",
        "schema": {"type": "string", "maxLength": limits.MAX_CURSOR_CHARS},
    },
]

REQUEST_PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "ingestPayload": [_ENDPOINT_ID, _IDEMPOTENCY_KEY],
    "dryRunPayload": [_ENDPOINT_ID],
    "getRequestOutcome": [_ENDPOINT_ID, _REQUEST_ID],
    "listRequests": [_ENDPOINT_ID, *_LISTING_QUERY],
}
REQUEST_BODIES: dict[str, dict[str, Any]] = {"ingestPayload": _PAYLOAD, "dryRunPayload": _PAYLOAD}

# ------------------------------------------------------------------------------------------- batch
# `POST …/{endpoint_id}/batch` (contract §4b): its bodies are the models of `batch_schemas`.

_BATCH_TOO_LARGE = _response(
    "The body is larger than 1 MiB (an item larger than 256 KiB is reported invalid in the results)",
    component("PayloadTooLarge"),
)

BATCH_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _response(
        "Every item is stored and queued (not processed yet)", component("BatchAccepted"), RATE_LIMIT_HEADERS
    ),
    207: _response(
        "Some items are queued and the others invalid (nothing queued for them)",
        component("BatchAccepted"),
        RATE_LIMIT_HEADERS,
    ),
    400: _MALFORMED,
    401: _UNAUTHENTICATED,
    404: _ENDPOINT_NOT_FOUND,
    409: INGEST_RESPONSES[409],
    413: _BATCH_TOO_LARGE,
    415: _NOT_JSON,
    422: _response(
        "No item is valid (`results` say why, per item; with the RateLimit-* headers), or `items` is "
        "missing, empty or holds more than 100 payloads (`details`), or the Idempotency-Key was used with "
        "another body",
        _one_of("BatchRejected", "ValidationFailed", "IdempotencyConflict"),
    ),
    429: _RATE_LIMITED,
    500: _FAILED,
    502: _GATEWAY_FAILED,
    503: _response(
        "Some valid items could not be queued (`retry`), or nothing could be stored: retry with the same "
        "Idempotency-Key, which queues only what is not queued yet",
        _one_of("BatchNotQueued", "ServerError"),
        RETRY_AFTER_HEADER,
    ),
    504: _GATEWAY_FAILED,
}

BATCH_DESCRIPTION = (
    "Up to 100 payloads in one request, each validated exactly as `POST …/{endpoint_id}` validates it and "
    "each valid one its own accepted request (own `request_id`, outcome and accept time; accept times "
    "follow item order, so for the same session a later item wins). The batch counts as one request "
    "against the rate limit. An item is reported `queued` only once it is in the queue. Checks run in the "
    "order of the single call; the body may be up to 1 MiB. With an `Idempotency-Key` (recommended), a "
    "repeat with the same body answers the first results (same request ids) and queues only what was not "
    "queued yet."
)
_BATCH_PAYLOAD = {
    "required": True,
    "description": "A JSON object holding `items`: 1 to 100 payloads, at most 1 MiB in all.",
    "content": component("BatchPayload"),
}
REQUEST_PARAMETERS["ingestBatch"] = [_ENDPOINT_ID, _IDEMPOTENCY_KEY]
REQUEST_BODIES["ingestBatch"] = _BATCH_PAYLOAD
