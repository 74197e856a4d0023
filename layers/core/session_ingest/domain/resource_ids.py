"""Resource ids (contract §5): `{org}/session/{n}` and `{org}/location/{n}`, or a plain integer `n`.

Shared by the mapper (canonical form in the record) and the consumer (the number that keys storage).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from session_ingest import limits
from session_ingest.domain.values import InvalidValue

ResourceKind = Literal["session", "location"]

# `acme/session/9001` (an organisation slug, the kind, the record number) or a plain `9001`.
_RESOURCE_ID = re.compile(
    r"(?:(?P<org>[A-Za-z0-9][A-Za-z0-9_.-]{0,99})/(?P<kind>[A-Za-z]+)/)?(?P<n>[0-9]{1,20})"
)


class InvalidResourceId(InvalidValue):
    """A resource id that is malformed, of another kind, or of another organisation."""


def format_resource_id(organisation: str, kind: ResourceKind, n: int) -> str:
    """The canonical formatted id, e.g. `acme/session/9001`."""
    return f"{organisation}/{kind}/{n}"


def parse_resource_id(value: Any, kind: ResourceKind, organisation: str | None) -> tuple[str | None, int]:
    """Split a resource id into (organisation or None for a plain number, number).

    Raises `InvalidResourceId` when the value is not an id of `kind`, or, when `organisation` is
    known, belongs to another organisation (compared case-insensitively, slugs are lower case).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return None, _checked_number(value, kind, organisation)
    match = _RESOURCE_ID.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidResourceId(f"must be a {kind} resource id: {_example(kind, organisation)}")
    number = _checked_number(int(match["n"]), kind, organisation)
    owner = match["org"]
    if owner is None:
        return None, number
    if match["kind"].lower() != kind:
        raise InvalidResourceId(
            f"must be a {kind} resource id, not a {match['kind'].lower()} id: {_example(kind, organisation)}"
        )
    owner = owner.lower()
    if organisation is not None and owner != organisation.lower():
        raise InvalidResourceId(
            f"belongs to another organisation ({owner!r}); expected {_example(kind, organisation)}"
        )
    return owner, number


def parse_resource_number(value: str | int, kind: ResourceKind, organisation: str | None) -> int:
    """The record number `n` of a resource id (formatted or plain)."""
    return parse_resource_id(value, kind, organisation)[1]


def normalise_resource_id(value: Any, kind: ResourceKind, organisation: str | None) -> str:
    """The form stored in the normalised record.

    With the organisation known: always `{org}/{kind}/{n}`. Without it (`ingestctl map` without
    `--org`): a formatted id keeps its own organisation, a plain number becomes its decimal string.
    """
    owner, number = parse_resource_id(value, kind, organisation)
    if organisation is not None:
        return format_resource_id(organisation, kind, number)
    if owner is not None:
        return format_resource_id(owner, kind, number)
    return str(number)


def _checked_number(number: int, kind: ResourceKind, organisation: str | None) -> int:
    if not 1 <= number <= limits.MAX_SAFE_INTEGER:
        raise InvalidResourceId(f"must hold a positive record number: {_example(kind, organisation)}")
    return number


def _example(kind: ResourceKind, organisation: str | None) -> str:
    return f'"{organisation or "acme"}/{kind}/123" or a plain integer'
