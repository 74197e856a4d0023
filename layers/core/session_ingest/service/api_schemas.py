"""The ingest API's JSON bodies as pydantic models: the schemas of the OpenAPI document (contract §4, §5).

The replies themselves are built in `http_replies` (plain dicts, no validation on the hot path); these
models describe them for the OpenAPI document (`ingestctl.openapi`) and for the tests that hold every
reply to its documented shape. The ingest Lambda never imports this module: building these classes
would only add to its cold start. Every response model forbids extra keys, so a reply that grows an
undocumented key fails the conformance tests instead of silently drifting from the document.

The session record's schemas are not written here: the normalised record (in `DryRunResultReply`) and the
accepted payload (`REQUEST_SCHEMAS`) are both derived from `session_fields.SESSION_RECORD_FIELDS`.
Response models are named `…Reply` (the errors and use-case results of the same names are other
things); the OpenAPI component names drop the suffix (`ingestctl.openapi`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from session_ingest import limits
from session_ingest.domain.session_fields import SESSION_RECORD_FIELDS, session_record_model

_UUID: dict[str, Any] = {"format": "uuid"}
_UTC: dict[str, Any] = {"format": "date-time", "examples": ["2026-06-14T23:00:00.123456Z"]}


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------- success


class AcceptedReply(_Closed):
    """200 of `POST …/{endpoint_id}`: stored and queued, not processed yet."""

    success: Literal[True]
    request_id: str = Field(json_schema_extra=_UUID, description="Also the response's X-Request-Id")


class RecordWarning(_Closed):
    """Something ignored or dropped while the record was still accepted (`unknown_field`, …)."""

    code: str = Field(examples=["unknown_field", "unsupported_field", "css_property_dropped"])
    field: str | None
    message: str


class MatchPreviewReply(_Closed):
    """What the consumer would do with the record now: create, or update the session found by `by`."""

    action: Literal["create", "update"]
    by: Literal["resource_id", "organisation_uid"] | None
    resource_id: str | None = Field(examples=["acme/session/12"])


DryRunResultReply = create_model(
    "DryRunResultReply",
    __base__=_Closed,
    __doc__="200 of `POST …/{endpoint_id}/test`: what would be stored; nothing was.",
    success=(Literal[True], ...),
    record=(session_record_model(), ...),
    warnings=(list[RecordWarning], ...),
    match=(MatchPreviewReply, ...),
)


class RequestOutcomeReply(_Closed):
    """200 of `GET …/requests/{request_id}`: every key present, null while not known yet."""

    request_id: str = Field(json_schema_extra=_UUID)
    status: Literal["queued", "processed", "failed"]
    accepted_at: str = Field(json_schema_extra=_UTC)
    processed_at: str | None = Field(json_schema_extra=_UTC)
    action: Literal["created", "updated"] | None
    resource_id: str | None
    warnings: list[RecordWarning]
    errors: list[str]


class RequestListingReply(_Closed):
    """200 of `GET …/{endpoint_id}/requests`: a page, newest first, and where the next one starts."""

    requests: list[RequestOutcomeReply]
    next: str | None = Field(description="Pass as `cursor` for the next page; null when there is none")


# ------------------------------------------------------------------------------------------- failures


class FieldErrorDetail(_Closed):
    field: str = Field(description="The field (or `$` for the payload itself)", examples=["start_time"])
    message: str


class _Failure(_Closed):
    success: Literal[False]


class MalformedRequestReply(_Failure):
    """400: the body is not strict JSON or nests too deep, or the Idempotency-Key header is malformed."""

    message: Literal["Invalid"]
    error_type: Literal["malformed_json", "invalid_idempotency_key"]
    errors: str


class UnauthenticatedReply(_Failure):
    """401: token missing, malformed, unknown, expired, revoked or for another endpoint."""

    message: Literal["Unauthenticated"]
    error_type: Literal["authentication_error"]


class NotFoundReply(_Failure):
    """404: no such endpoint (or disabled), no such request of this endpoint, or no such route."""

    message: Literal["Not Found"]
    error_type: Literal["not_found"]


class IdempotencyInProgressReply(_Failure):
    """409: the first request with this Idempotency-Key and body is still being stored and queued."""

    message: Literal["Conflict"]
    error_type: Literal["idempotency_in_progress"]
    errors: str


class PayloadTooLargeReply(_Failure):
    """413: the body is larger than 256 KiB (API Gateway itself refuses over 10 MB, without `errors`)."""

    message: Literal["Payload Too Large"]
    error_type: Literal["payload_too_large"]
    errors: str = ""


class UnsupportedMediaTypeReply(_Failure):
    """415: Content-Type is not `application/json` (or `application/*+json`) in UTF-8."""

    message: Literal["Unsupported Media Type"]
    error_type: Literal["unsupported_media_type"]
    errors: str


class ValidationFailedReply(_Failure):
    """422: the payload fails the endpoint's JSON Schema, mapping or field validation."""

    message: Literal["Invalid"]
    error_type: Literal["validation_error"]
    errors: Literal["The provided payload is not in the correct format for this endpoint"]
    details: list[FieldErrorDetail] = Field(max_length=limits.MAX_VALIDATION_DETAILS)


class IdempotencyConflictReply(_Failure):
    """422: this Idempotency-Key was already used with a different body."""

    message: Literal["Invalid"]
    error_type: Literal["idempotency_conflict"]
    errors: str


class BadListingQueryReply(_Failure):
    """400 of the listing: a parameter that cannot be used; `errors` names it."""

    message: Literal["Invalid"]
    error_type: Literal["invalid_query"]
    errors: str


class RateLimitedReply(_Failure):
    """429: over the endpoint's rate limit; retry after `Retry-After` seconds."""

    message: Literal["Too Many Requests"]
    error_type: Literal["rate_limited"]


class ServerErrorReply(_Failure):
    """5xx: the request was not queued; retry it. `server_error` comes from API Gateway itself."""

    message: str
    error_type: Literal["internal_error", "service_unavailable", "server_error"]
    errors: str = ""


# ------------------------------------------------------------------------------------------- requests
# Plain JSON Schemas: each field's accepted raw values, exactly, from the session record's description.

_CROSS_FIELD_RULES = (
    "Rules between fields, which a schema cannot state, are checked too and refused with 422 `details`: "
    "`finish_time` must not be before `start_time`; `card_link_url` must be an absolute URL when "
    "`card_link_type` is `external`; resource ids must name the endpoint's own organisation."
)


def _nullable(accepted: dict[str, Any]) -> dict[str, Any]:
    """The accepted values or `null` (which means absent: the stored value is kept)."""
    branches = accepted.get(
        "anyOf", [{key: value for key, value in accepted.items() if key != "description"}]
    )
    return {"description": accepted["description"], "anyOf": [*branches, {"type": "null"}]}


def _session_payload_schema() -> dict[str, Any]:
    return {
        "title": "SessionPayload",
        "description": (
            "The session object of a payload under the default mapping. Every field is optional and "
            "`null` means absent; unknown keys are ignored with a warning (speaker and track fields with "
            "`unsupported_field`). " + _CROSS_FIELD_RULES
        ),
        "type": "object",
        "properties": {name: _nullable(field.accepts) for name, field in SESSION_RECORD_FIELDS.items()},
        "additionalProperties": True,
    }


_INGEST_PAYLOAD_SCHEMA: dict[str, Any] = {
    "title": "IngestPayload",
    "description": (
        'A payload under the default mapping: the session under `"session"` (other keys are ignored with '
        "a warning). An endpoint's mapping rules may place the fields elsewhere, rename them and set "
        "defaults; its own JSON Schema, if any, applies on top."
    ),
    "type": "object",
    "properties": {"session": {"$ref": "#/components/schemas/SessionPayload"}},
    "required": ["session"],
    "additionalProperties": True,
}

# Request bodies, by component name.
REQUEST_SCHEMAS: dict[str, dict[str, Any]] = {
    "IngestPayload": _INGEST_PAYLOAD_SCHEMA,
    "SessionPayload": _session_payload_schema(),
}

# Every response model the OpenAPI document names (nested models are added with them).
COMPONENT_MODELS: tuple[type[BaseModel], ...] = (
    AcceptedReply,
    DryRunResultReply,
    RequestOutcomeReply,
    RequestListingReply,
    MalformedRequestReply,
    BadListingQueryReply,
    UnauthenticatedReply,
    NotFoundReply,
    IdempotencyInProgressReply,
    PayloadTooLargeReply,
    UnsupportedMediaTypeReply,
    ValidationFailedReply,
    IdempotencyConflictReply,
    RateLimitedReply,
    ServerErrorReply,
)
