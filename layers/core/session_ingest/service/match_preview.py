"""The dry run's preview of the session a payload would create or update (contract §4 `/test` → `match`).

The lookup is the consumer's own (`service.matching.find_match`: contract §6 rules 1-3 on the same
consistent reads the consumer makes), so the preview says exactly what processing would do with the data
stored now. Read-only: nothing is written, not even a session number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel

from session_ingest.domain.matching import match_keys
from session_ingest.domain.models import EndpointConfig
from session_ingest.errors import FieldError, OrganisationMismatch, ValidationFailed
from session_ingest.service.matching import find_match
from session_ingest.service.ports import SessionsPort


class DryRunMatch(BaseModel):
    """What the consumer would do with the record: create, or update the session found by `by`."""

    action: Literal["create", "update"]
    by: Literal["resource_id", "organisation_uid"] | None = None
    resource_id: str | None = None


MatchPreviewer = Callable[[EndpointConfig, dict[str, Any]], DryRunMatch]


def preview_match(sessions: SessionsPort, config: EndpointConfig, record: Mapping[str, Any]) -> DryRunMatch:
    """The consumer's read-only match for `record` in the endpoint's event.

    Raises ValueError for a resource id of another organisation (the mapper rejects those first).
    """
    keys = match_keys(record, config.organisation)
    try:
        match = find_match(sessions, config.organisation, config.event_id, keys)
    except OrganisationMismatch as mismatch:
        # Said without naming anything of the other organisation: it is the consumer's refusal, early.
        raise ValidationFailed(
            [
                FieldError(
                    mismatch.field,
                    "matches data of another organisation in this endpoint's event: "
                    "the request would fail and change nothing",
                )
            ]
        ) from None
    return DryRunMatch(
        action=match.decision.action.value,
        by=match.decision.by.value if match.decision.by is not None else None,
        resource_id=match.session.resource_id if match.session is not None else None,
    )
