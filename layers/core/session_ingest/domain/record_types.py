"""What the mapper needs to know about one kind of record: its fields, their rules and cross-checks.

`map_payload` is generic over these descriptions, so a `person` or `vendor` endpoint type is added
by describing its record (like `session_fields.SESSION_RECORD`) and registering it in
`mapping.RECORD_TYPES`; no caller changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from session_ingest import limits
from session_ingest.domain.models import IngestWarning
from session_ingest.errors import FieldError

MAX_NAME_IN_MESSAGE_CHARS = 64


class WarningCollector:
    """Collects warnings for one record, capped so a hostile payload cannot bloat the outcome item."""

    def __init__(self) -> None:
        self.warnings: list[IngestWarning] = []
        self._dropped = 0

    def add(self, code: str, field: str | None, message: str) -> None:
        if len(self.warnings) < limits.MAX_WARNINGS_PER_RECORD:
            self.warnings.append(IngestWarning(code=code, field=field, message=message))
        else:
            self._dropped += 1

    def result(self) -> list[IngestWarning]:
        if not self._dropped:
            return self.warnings
        summary = IngestWarning(
            code="warnings_truncated",
            field=None,
            message=f"{self._dropped} more warnings were not listed",
        )
        return [*self.warnings, summary]


@dataclass(slots=True)
class FieldContext:
    """What a field rule may use besides the value: the endpoint's organisation and a warning sink."""

    organisation: str | None
    warnings: WarningCollector


# A field rule turns one raw JSON value into its canonical form or raises `values.InvalidValue`.
FieldRule = Callable[[Any, FieldContext], Any]


@dataclass(frozen=True, eq=False)
class RecordType:
    """A record kind: its fields in output order, which payload keys are known to be unsupported,
    and the checks that involve several fields (run once every field is normalised).

    Compared and hashed by identity, so compiled mappings are cached per registered record type."""

    name: str
    fields: Mapping[str, FieldRule]
    is_unsupported_field: Callable[[str], bool]
    cross_checks: Callable[[dict[str, Any]], list[FieldError]]


def shorten(name: str) -> str:
    """A payload-supplied name, cut to a length that is safe to echo back in messages."""
    if len(name) <= MAX_NAME_IN_MESSAGE_CHARS:
        return name
    return name[:MAX_NAME_IN_MESSAGE_CHARS] + "…"
