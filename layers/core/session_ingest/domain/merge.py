"""Per-field last-writer-wins by accept time (contract §6: ordering is not guaranteed).

Every stored field remembers the accept time of the request that set it. An incoming field is applied
only when its request was accepted no earlier than that, so an older request that arrives late never
overwrites what a newer one already set, field by field. Ties apply: the same accept time can only be the
same request (redeliveries are stopped earlier by the request item) or a truly simultaneous one.
An older request that carries the value already stored is not a conflict: it is neither written nor
reported stale (typically the organisation uid it was matched by).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FieldMerge:
    """Which incoming fields to write, and which were skipped because a newer request set them."""

    applied: dict[str, Any]
    stale: tuple[str, ...]


def merge_fields(
    stored: Mapping[str, Any],
    stored_accepted_at: Mapping[str, datetime],
    incoming: Mapping[str, Any],
    accepted_at: datetime,
) -> FieldMerge:
    """Split `incoming` into fields this request may write and fields a newer request already owns."""
    applied: dict[str, Any] = {}
    stale: list[str] = []
    for name, value in incoming.items():
        previous = stored_accepted_at.get(name)
        if previous is None or previous <= accepted_at:
            applied[name] = value
        elif stored.get(name) != value:
            stale.append(name)
    return FieldMerge(applied=applied, stale=tuple(sorted(stale)))
