"""A request's outcome as the API and ingestctl show it (SPEC §4 `GET …/requests/{request_id}`)."""

from __future__ import annotations

from typing import Any

from session_ingest.adapters.request_store import RequestStore
from session_ingest.domain.models import RequestOutcome
from session_ingest.domain.utc import format_utc


def outcome_view(outcome: RequestOutcome) -> dict[str, Any]:
    """The documented JSON shape, every key present (null when not yet known)."""
    return {
        "request_id": outcome.request_id,
        "status": outcome.status.value,
        "accepted_at": format_utc(outcome.accepted_at),
        "processed_at": None if outcome.processed_at is None else format_utc(outcome.processed_at),
        "action": outcome.action,
        "resource_id": outcome.resource_id,
        "warnings": [warning.model_dump() for warning in outcome.warnings],
        "errors": list(outcome.errors),
    }


def describe_request(request_id: str) -> dict[str, Any] | None:
    """Operator lookup of any request (no token, no endpoint check); None when unknown."""
    outcome = RequestStore().get_outcome(request_id)
    return None if outcome is None else outcome_view(outcome)
