"""The versioned SQS message between the ingest API and the consumer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from session_ingest.domain.models import EndpointType, IngestWarning

# SQS message attribute carrying the request id, so the consumer logs with the same correlation id.
REQUEST_ID_ATTRIBUTE = "request_id"


class IngestEnvelope(BaseModel):
    """One accepted request. `record` is the normalised record validated at accept time;
    `payload` is the original body, kept for audit and DLQ inspection."""

    schema_version: Literal[1] = 1
    request_id: str
    endpoint_id: str
    organisation: str
    event_id: int
    endpoint_type: EndpointType
    accepted_at: datetime
    payload: dict[str, Any]
    record: dict[str, Any]
    warnings: list[IngestWarning] = Field(default_factory=list)
