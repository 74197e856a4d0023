"""UTC timestamps as the stores keep them: ISO 8601 with microseconds and a `Z` suffix."""

from __future__ import annotations

from datetime import UTC, datetime


def format_utc(moment: datetime) -> str:
    """`2026-06-14T23:00:00.123456Z` (fixed width, so stored strings sort as times); naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: str) -> datetime:
    """The inverse of `format_utc`; also reads any ISO 8601 string with an offset (naive means UTC)."""
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
