"""Domain models shared across the pipeline: endpoint configuration, mapping results, request outcomes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from session_ingest import limits

# Re-exported: their home is domain.request_lifecycle.
from session_ingest.domain.request_lifecycle import FailureKind as FailureKind
from session_ingest.domain.request_lifecycle import RequestStatus as RequestStatus
from session_ingest.errors import FieldError


class EndpointType(StrEnum):
    """Kinds of ingest endpoint. `person` and `vendor` are added by registering a mapper and a processor."""

    SESSION = "session"


class MappingRules(BaseModel):
    """Per-endpoint mapping (contract §5): which key holds the record, where each field comes from, defaults.

    `fields` maps a target field name to a JMESPath expression evaluated against the root object.
    """

    model_config = ConfigDict(extra="forbid")

    root_key: str | None = "session"
    fields: dict[str, str] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict)


class EndpointConfig(BaseModel):
    """An ingest endpoint (contract §3). Tokens are stored separately, as hashes."""

    endpoint_id: str
    endpoint_type: EndpointType = EndpointType.SESSION
    organisation: str
    event_id: int
    mapping: MappingRules = Field(default_factory=MappingRules)
    json_schema: dict[str, Any] | None = None
    rate_limit_per_minute: int = Field(default=limits.DEFAULT_RATE_LIMIT_PER_MINUTE, ge=1)
    enabled: bool = True
    created_at: datetime
    # Version of the settings that shape a request (mapping, schema, rate limit): 1 at creation, one more
    # per `endpoint update`; recorded on each accepted request's outcome.
    config_version: int = Field(default=1, ge=1)
    updated_at: datetime | None = None


class IngestWarning(BaseModel):
    """Something ignored or dropped while still accepting the record (e.g. `unsupported_field`)."""

    code: str
    field: str | None = None
    message: str


class MappingResult(BaseModel):
    """What mapping + normalisation made of one payload: a record and warnings, or field errors."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    record: dict[str, Any] | None = None
    warnings: list[IngestWarning] = Field(default_factory=list)
    errors: list[FieldError] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.record is not None


class StoredOutcome(BaseModel):
    """The outcome of an accepted request, as `GET …/requests/{id}` returns it (contract §4).

    Stored in the requests table under pk=REQUEST#<request_id> with these attribute names,
    plus `expires_at` (TTL). `failure_kind`, `last_error` and `delivery_attempts` are kept for operators
    and the lifecycle rules; the public JSON (service.request_outcomes.outcome_view) leaves them out.
    """

    request_id: str
    endpoint_id: str
    status: RequestStatus
    accepted_at: datetime
    processed_at: datetime | None = None
    action: str | None = None
    resource_id: str | None = None
    warnings: list[IngestWarning] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    failure_kind: FailureKind | None = None
    last_error: str | None = None
    delivery_attempts: int = 0
    # The endpoint's config_version the request was accepted under (None for requests stored before).
    config_version: int | None = None
