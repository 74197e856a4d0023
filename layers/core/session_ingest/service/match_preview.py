"""The dry run's preview of the session a payload would create or update (SPEC §4 `/test` → `match`).

The lookup itself is the consumer's (`service.matching.preview_match`: SPEC §6 rules 1-3 on the same
consistent reads the consumer makes), so the preview says exactly what processing would do with the data
stored now. This module gives it the API's typed shape and is the dry run's one call point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from session_ingest.domain.models import EndpointConfig
from session_ingest.service import matching


class MatchPreview(BaseModel):
    """What the consumer would do with the record: create, or update the session found by `by`."""

    action: Literal["create", "update"]
    by: Literal["resource_id", "organisation_uid"] | None = None
    resource_id: str | None = None


MatchPreviewer = Callable[[EndpointConfig, dict[str, Any]], MatchPreview]


def preview_match(config: EndpointConfig, record: dict[str, Any]) -> MatchPreview:
    """The consumer's read-only match for `record` in the endpoint's event."""
    return MatchPreview.model_validate(matching.preview_match(config, record))
