"""Batch ingest's JSON bodies as pydantic models (contract §4b): the OpenAPI schemas of `POST …/batch`.

Like `api_schemas` (response models named `…Reply`, the suffix dropped in the document), these describe
the replies `http_replies` builds as plain dicts, for the OpenAPI document and for the tests that hold
every reply to its documented shape. The ingest Lambda never imports this module.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from session_ingest import limits
from session_ingest.service.api_schemas import FieldErrorDetail

_UUID: dict[str, Any] = {"format": "uuid"}


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchItemQueued(_Closed):
    """The item is its own accepted request, durably queued."""

    index: int = Field(ge=0, description="The item's position in `items`")
    status: Literal["queued"]
    request_id: str = Field(json_schema_extra=_UUID, description="Follow it at `GET …/requests/{request_id}`")


class BatchItemInvalid(_Closed):
    """The item fails validation exactly as it would alone; nothing was queued for it."""

    index: int = Field(ge=0)
    status: Literal["invalid"]
    error_type: Literal["validation_error", "payload_too_large"]
    details: list[FieldErrorDetail] = Field(max_length=limits.MAX_VALIDATION_DETAILS)


class BatchItemRetry(_Closed):
    """The item is valid but could not be queued yet: retry the batch with the same Idempotency-Key."""

    index: int = Field(ge=0)
    status: Literal["retry"]


BatchItemResult = Annotated[
    BatchItemQueued | BatchItemInvalid | BatchItemRetry, Field(discriminator="status")
]


class BatchAcceptedReply(_Closed):
    """200 (every item queued) or 207 (some queued, some invalid): one result per item, in order."""

    success: bool = Field(description="true exactly when every item is queued")
    results: list[BatchItemResult]


class BatchRejectedReply(_Closed):
    """422: no item is valid; each item's result says why."""

    message: Literal["Invalid"]
    success: Literal[False]
    error_type: Literal["validation_error"]
    errors: str
    results: list[BatchItemInvalid]


class BatchNotQueuedReply(_Closed):
    """503: some valid items could not be queued (`retry`); the others' results stand. Retry the batch
    with the same Idempotency-Key: only what is not queued yet is queued."""

    message: Literal["Service Unavailable"]
    success: Literal[False]
    error_type: Literal["service_unavailable"]
    errors: str
    results: list[BatchItemResult]


class BatchPayload(BaseModel):
    """A batch: each item is exactly what `POST …/{endpoint_id}` accepts for this endpoint."""

    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=limits.MAX_BATCH_ITEMS,
        description="Payloads, each under the endpoint's mapping rules (by default the session under "
        '`"session"`); an item that is not an object is reported invalid',
        json_schema_extra={"items": {"$ref": "#/components/schemas/IngestPayload"}},
    )


# Every model the OpenAPI document names for the batch route, by its component name.
BATCH_COMPONENT_MODELS: tuple[type[BaseModel], ...] = (
    BatchAcceptedReply,
    BatchRejectedReply,
    BatchNotQueuedReply,
    BatchPayload,
)
