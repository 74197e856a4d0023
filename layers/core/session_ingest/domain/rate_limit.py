"""Fixed-window rate limiting arithmetic and what one Lambda instance knows of a window's count (pure).

A window is RATE_WINDOW_SECONDS long and aligned to the epoch, so every instance agrees on which
window a request falls into and the shared counter item is addressed by `(endpoint, window start)`.
At most `limit` requests are admitted per window; a burst may straddle two windows (up to 2x the limit
over any sliding minute), the usual price of a fixed window that needs one counter write per request.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from session_ingest import limits


@dataclass(frozen=True)
class RateWindow:
    """One endpoint's current window and its limit."""

    endpoint_id: str
    limit: int
    start: int
    seconds: int = limits.RATE_WINDOW_SECONDS

    @classmethod
    def containing(
        cls, endpoint_id: str, limit: int, epoch_seconds: float, seconds: int = limits.RATE_WINDOW_SECONDS
    ) -> RateWindow:
        start = int(epoch_seconds // seconds) * seconds
        return cls(endpoint_id, limit, start, seconds)

    @property
    def end(self) -> int:
        return self.start + self.seconds

    def reset_seconds(self, epoch_seconds: float) -> int:
        """Whole seconds until the window ends (at least 1, as Retry-After and RateLimit-Reset)."""
        return max(1, math.ceil(self.end - epoch_seconds))

    def state(self, count: int, epoch_seconds: float) -> RateLimitState:
        return RateLimitState(self.limit, max(0, self.limit - count), self.reset_seconds(epoch_seconds))


@dataclass(frozen=True)
class RateLimitState:
    """What the RateLimit-* headers report."""

    limit: int
    remaining: int
    reset_seconds: int


class KnownCounts:
    """A lower bound on each current window's shared count, as this instance has observed it.

    The shared counter is only ever read as a side effect: an UpdateItem returns the new count, a failed
    condition returns the old one. An accepted request's transaction returns nothing, so its increment
    is added locally. Every value kept here is therefore <= the true count (counts only grow), which
    makes `limit - known` an upper bound of the true remaining quota: exact while one instance serves an
    endpoint, optimistic while several do. Because the bound is safe, a window known to be full is
    answered with 429 without another write.
    """

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}  # endpoint id -> (window start, count)
        self._lock = threading.Lock()

    def known(self, window: RateWindow) -> int:
        with self._lock:
            return self._known(window)

    def observe(self, window: RateWindow, count: int) -> None:
        """Record an exact count read from the store."""
        with self._lock:
            self._store(window, max(count, self._known(window)))

    def add_accepted(self, window: RateWindow) -> None:
        """Record this instance's own successful increment."""
        with self._lock:
            self._store(window, self._known(window) + 1)

    def is_exhausted(self, window: RateWindow) -> bool:
        return self.known(window) >= window.limit

    def _known(self, window: RateWindow) -> int:
        start, count = self._counts.get(window.endpoint_id, (window.start, 0))
        return count if start == window.start else 0

    def _store(self, window: RateWindow, count: int) -> None:
        start, _ = self._counts.get(window.endpoint_id, (window.start, 0))
        if window.start >= start:  # never let a late answer about an old window replace a newer one
            self._counts[window.endpoint_id] = (window.start, count)
