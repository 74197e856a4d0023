"""Location references of a session record (contract §5 `location_resource_id`), resolved without I/O.

A reference is `{org}/location/{n}` or a plain `n`. It is kept only when the location exists in the
endpoint's event; otherwise the field is skipped with warning `unknown_location` (never a failure).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from session_ingest.domain.models import IngestWarning
from session_ingest.domain.resource_ids import format_resource_id, parse_resource_number
from session_ingest.domain.sessions import LOCATION_FIELD, LOCATION_KIND

UNKNOWN_LOCATION = "unknown_location"


def location_number(record: Mapping[str, Any], organisation: str) -> int | None:
    """The location number a record references; None when absent or not a reference of this organisation."""
    value = record.get(LOCATION_FIELD)
    if value is None or not str(value).strip():
        return None
    try:
        return parse_resource_number(str(value), LOCATION_KIND, organisation)
    except ValueError:
        return None


def resolve_location(
    fields: Mapping[str, Any], organisation: str, event_id: int, number: int | None, exists: bool
) -> tuple[dict[str, Any], list[IngestWarning]]:
    """Fields with the location reference made canonical, or dropped with a warning when unknown."""
    if LOCATION_FIELD not in fields:
        return dict(fields), []
    resolved = {name: value for name, value in fields.items() if name != LOCATION_FIELD}
    if number is not None and exists:
        resolved[LOCATION_FIELD] = format_resource_id(organisation, LOCATION_KIND, number)
        return resolved, []
    warning = IngestWarning(
        code=UNKNOWN_LOCATION,
        field=LOCATION_FIELD,
        message=f"location {fields[LOCATION_FIELD]!s} does not exist in event {event_id}; field skipped",
    )
    return resolved, [warning]
