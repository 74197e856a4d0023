"""The versioned SQS message between the ingest API and the consumer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from session_ingest.domain.models import EndpointType, IngestWarning

# SQS message attribute carrying the request id, so the consumer logs with the same correlation id.
REQUEST_ID_ATTRIBUTE = "request_id"


class IngestEnvelope(BaseModel):
    """One accepted request. `record` is the normalised record validated at accept time.

    Version 2 no longer carries the raw `payload` beside it: the consumer never read it, and both
    together could outgrow a message. Version 1 messages (with it) are still read; a consumer that
    only knows version 1 keeps a version 2 message as unreadable, for redrive after its upgrade.
    """

    schema_version: Literal[1, 2] = 2
    request_id: str
    endpoint_id: str
    organisation: str
    event_id: int
    endpoint_type: EndpointType
    accepted_at: datetime
    payload: dict[str, Any] | None = None  # version 1 only
    record: dict[str, Any]
    warnings: list[IngestWarning] = Field(default_factory=list)
