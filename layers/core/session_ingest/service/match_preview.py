"""The dry run's preview of the session a payload would create or update (SPEC §4 `/test` → `match`).

The preview reads the sessions table with the consumer's matching rules (SPEC §6 rules 1-3), which the
consumer owns. `preview_match` below is the one call point: it is wired to the consumer's read-only
lookup, and until then a dry run answers 501 rather than invent a match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from session_ingest.domain.models import EndpointConfig
from session_ingest.errors import MatchPreviewUnavailable


class MatchPreview(BaseModel):
    """What the consumer would do with the record: create, or update the session found by `by`."""

    action: Literal["create", "update"]
    by: Literal["resource_id", "organisation_uid"] | None = None
    resource_id: str | None = None


MatchPreviewer = Callable[[EndpointConfig, dict[str, Any]], MatchPreview]


def preview_match(config: EndpointConfig, record: dict[str, Any]) -> MatchPreview:
    """CALL POINT for the consumer's read-only session lookup (not yet wired: answers 501)."""
    raise MatchPreviewUnavailable
