"""Time as the service reads it, behind a small interface so tests can control it instead of sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC (timestamps, token expiry, rate windows)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never jumps (cache ages)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()
