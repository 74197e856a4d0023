"""The ingest API's JSON bodies as pydantic models: the schemas of the OpenAPI document (SPEC §4, §5).

The replies themselves are built in `http_replies` (plain dicts, no validation on the hot path); these
models describe them for the OpenAPI document (`ingestctl.openapi`) and for the tests that hold every
reply to its documented shape. The ingest Lambda never imports this module: building these classes
would only add to its cold start. Every response model forbids extra keys, so a reply that grows an
undocumented key fails the conformance tests instead of silently drifting from the document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from session_ingest import limits

_UUID: dict[str, Any] = {"format": "uuid"}
_UTC: dict[str, Any] = {"format": "date-time", "examples": ["2026-06-14T23:00:00.123456Z"]}


_MINUTES = Annotated[int, Field(ge=0)]
_RECORD_ID = Annotated[int, Field(ge=1)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------- success


class Accepted(_Closed):
    """200 of `POST …/{endpoint_id}`: stored and queued, not processed yet."""

    success: Literal[True]
    request_id: str = Field(json_schema_extra=_UUID, description="Also the response's X-Request-Id")


class RecordWarning(_Closed):
    """Something ignored or dropped while the record was still accepted (`unknown_field`, …)."""

    code: str = Field(examples=["unknown_field", "unsupported_field", "css_property_dropped"])
    field: str | None
    message: str


class MatchPreview(_Closed):
    """What the consumer would do with the record now: create, or update the session found by `by`."""

    action: Literal["create", "update"]
    by: Literal["resource_id", "organisation_uid"] | None
    resource_id: str | None = Field(examples=["acme/session/12"])


class NormalisedSession(TypedDict, total=False):
    """A session record after mapping and normalisation: absent fields are absent, never null."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    resource_id: Annotated[str, Field(examples=["acme/session/12"])]
    organisation_uid: str
    code: str
    name: str
    description: str
    start_time: Annotated[str, Field(examples=["2026-06-14T23:00:00Z"])]
    finish_time: Annotated[str, Field(examples=["2026-06-15T00:00:00Z"])]
    location_resource_id: Annotated[str, Field(examples=["acme/location/3"])]
    active: bool
    restricted: bool
    restricted_allow_override: bool
    visible_in_api: bool
    allow_survey: bool
    skill_level: str
    sort_order: int
    entry_buffer: _MINUTES
    related_content_buffer: _MINUTES
    categories: list[int]
    traits: list[int]
    card_content: str
    card_link_label: str
    card_link_type: Literal["internal", "external"]
    card_link_url: str
    card_allow_rating: bool
    card_allow_comment: bool
    card_rating_message: str
    email_content_id: _RECORD_ID
    sms_content_id: _RECORD_ID
    related_email_content_id: _RECORD_ID
    related_sms_content_id: _RECORD_ID
    related_card_content_id: _RECORD_ID
    eventapp_promo_text: str
    eventapp_promo_logo: str
    eventapp_background: dict[str, str]


class DryRunResult(_Closed):
    """200 of `POST …/{endpoint_id}/test`: what would be stored; nothing was."""

    success: Literal[True]
    record: NormalisedSession
    warnings: list[RecordWarning]
    match: MatchPreview


class RequestOutcome(_Closed):
    """200 of `GET …/requests/{request_id}`: every key present, null while not known yet."""

    request_id: str = Field(json_schema_extra=_UUID)
    status: Literal["queued", "processed", "failed"]
    accepted_at: str = Field(json_schema_extra=_UTC)
    processed_at: str | None = Field(json_schema_extra=_UTC)
    action: Literal["created", "updated"] | None
    resource_id: str | None
    warnings: list[RecordWarning]
    errors: list[str]


class RequestListing(_Closed):
    """200 of `GET …/{endpoint_id}/requests`: a page, newest first, and where the next one starts."""

    requests: list[RequestOutcome]
    next: str | None = Field(description="Pass as `cursor` for the next page; null when there is none")


# ------------------------------------------------------------------------------------------- failures


class FieldErrorDetail(_Closed):
    field: str = Field(description="The field (or `$` for the payload itself)", examples=["start_time"])
    message: str


class _Failure(_Closed):
    success: Literal[False]


class MalformedRequest(_Failure):
    """400: the body is not strict JSON or nests too deep, or the Idempotency-Key header is malformed."""

    message: Literal["Invalid"]
    error_type: Literal["malformed_json", "invalid_idempotency_key"]
    errors: str


class Unauthenticated(_Failure):
    """401: token missing, malformed, unknown, expired, revoked or for another endpoint."""

    message: Literal["Unauthenticated"]
    error_type: Literal["authentication_error"]


class NotFound(_Failure):
    """404: no such endpoint (or disabled), no such request of this endpoint, or no such route."""

    message: Literal["Not Found"]
    error_type: Literal["not_found"]


class IdempotencyInProgress(_Failure):
    """409: the first request with this Idempotency-Key and body is still being stored and queued."""

    message: Literal["Conflict"]
    error_type: Literal["idempotency_in_progress"]
    errors: str


class PayloadTooLarge(_Failure):
    """413: the body is larger than 256 KiB (API Gateway itself refuses over 10 MB, without `errors`)."""

    message: Literal["Payload Too Large"]
    error_type: Literal["payload_too_large"]
    errors: str = ""


class UnsupportedMediaType(_Failure):
    """415: Content-Type is not `application/json` (or `application/*+json`) in UTF-8."""

    message: Literal["Unsupported Media Type"]
    error_type: Literal["unsupported_media_type"]
    errors: str


class ValidationFailed(_Failure):
    """422: the payload fails the endpoint's JSON Schema, mapping or field validation."""

    message: Literal["Invalid"]
    error_type: Literal["validation_error"]
    errors: Literal["The provided payload is not in the correct format for this endpoint"]
    details: list[FieldErrorDetail] = Field(max_length=limits.MAX_VALIDATION_DETAILS)


class IdempotencyConflict(_Failure):
    """422: this Idempotency-Key was already used with a different body."""

    message: Literal["Invalid"]
    error_type: Literal["idempotency_conflict"]
    errors: str


class BadListingQuery(_Failure):
    """400 of the listing: a parameter that cannot be used; `errors` names it."""

    message: Literal["Invalid"]
    error_type: Literal["invalid_query"]
    errors: str


class RateLimited(_Failure):
    """429: over the endpoint's rate limit; retry after `Retry-After` seconds."""

    message: Literal["Too Many Requests"]
    error_type: Literal["rate_limited"]


class ServerError(_Failure):
    """5xx: the request was not queued; retry it. `server_error` comes from API Gateway itself."""

    message: str
    error_type: Literal["internal_error", "service_unavailable", "server_error"]
    errors: str = ""


# ------------------------------------------------------------------------------------------- requests


_TEXT = str | int
_FLAG = bool | int | str
_NUMBER = int | str
_IDS = str | int | list[int | str]


class SessionPayload(BaseModel):
    """The session object of a payload under the default mapping, in the forms accepted.

    Every field is optional and `null` means absent. Stricter rules (formats, ranges, safe URLs and
    CSS) are checked on receipt and refused with 422 `details`; unknown keys are ignored with a
    warning. An endpoint's own mapping rules may place these fields elsewhere in the payload.
    """

    model_config = ConfigDict(extra="allow")

    resource_id: _NUMBER | None = Field(None, description="`{org}/session/{n}` or `n`")
    organisation_uid: _TEXT | None = None
    code: _TEXT | None = None
    name: _TEXT | None = None
    description: _TEXT | None = None
    start_time: str | None = Field(None, description="`Y-m-d H:i:s` (UTC) or ISO 8601 with an offset")
    finish_time: str | None = Field(None, description="not before start_time")
    location_resource_id: _NUMBER | None = Field(None, description="`{org}/location/{n}` or `n`")
    active: _FLAG | None = None
    restricted: _FLAG | None = None
    restricted_allow_override: _FLAG | None = None
    visible_in_api: _FLAG | None = None
    allow_survey: _FLAG | None = None
    skill_level: _TEXT | None = None
    sort_order: _NUMBER | None = None
    entry_buffer: _NUMBER | None = Field(None, description="minutes, >= 0")
    related_content_buffer: _NUMBER | None = Field(None, description="minutes, >= 0")
    categories: _IDS | None = Field(None, description='`"7|12"` or `[7, 12]`')
    traits: _IDS | None = Field(None, description='`"7|12"` or `[7, 12]`')
    card_content: _TEXT | None = None
    card_link_label: _TEXT | None = None
    card_link_type: str | None = Field(None, description="`internal` or `external`")
    card_link_url: str | None = Field(None, description="http(s) URL, or a site path for internal links")
    card_allow_rating: _FLAG | None = None
    card_allow_comment: _FLAG | None = None
    card_rating_message: _TEXT | None = None
    email_content_id: _NUMBER | None = None
    sms_content_id: _NUMBER | None = None
    related_email_content_id: _NUMBER | None = None
    related_sms_content_id: _NUMBER | None = None
    related_card_content_id: _NUMBER | None = None
    eventapp_promo_text: _TEXT | None = None
    eventapp_promo_logo: _TEXT | None = None
    eventapp_background: dict[str, Any] | str | None = Field(
        None, description="CSS properties (object or JSON string); unsafe ones are dropped with a warning"
    )


class IngestPayload(BaseModel):
    """A payload under the default mapping: the session under `"session"`."""

    model_config = ConfigDict(extra="allow")

    session: SessionPayload


# Every model the OpenAPI document names, by its component name.
COMPONENT_MODELS: tuple[type[BaseModel], ...] = (
    Accepted,
    DryRunResult,
    RequestOutcome,
    RequestListing,
    MalformedRequest,
    BadListingQuery,
    Unauthenticated,
    NotFound,
    IdempotencyInProgress,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    IdempotencyConflict,
    RateLimited,
    ServerError,
    IngestPayload,
)
