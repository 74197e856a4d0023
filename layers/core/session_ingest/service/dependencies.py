"""What the ingest use cases talk to, built once per warm Lambda (never at import time).

Tests build their own `IngestDependencies` (a controlled clock, a fault-injecting sender) or call
`reset_ingest_dependencies()` so no cache outlives its moto account.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from session_ingest import limits
from session_ingest.adapters.clock import Clock, SystemClock
from session_ingest.adapters.endpoint_store import EndpointCache, EndpointStore
from session_ingest.adapters.queue_publisher import send_envelope
from session_ingest.adapters.request_store import RequestStore
from session_ingest.domain.rate_limit import KnownCounts
from session_ingest.envelope import IngestEnvelope
from session_ingest.service.match_preview import MatchPreviewer, preview_match
from session_ingest.settings import get_settings


@dataclass
class IngestDependencies:
    clock: Clock
    endpoints: EndpointCache
    requests: RequestStore = field(default_factory=RequestStore)
    known_counts: KnownCounts = field(default_factory=KnownCounts)
    send: Callable[[IngestEnvelope], str] = send_envelope
    preview_match: MatchPreviewer = preview_match


def build_ingest_dependencies(clock: Clock | None = None) -> IngestDependencies:
    """Fresh dependencies with empty caches, reading the cache TTL from the settings."""
    clock = clock or SystemClock()
    cache = EndpointCache(
        EndpointStore(),
        ttl_seconds=get_settings().config_cache_seconds,
        miss_refresh_seconds=limits.CACHE_MISS_REFRESH_SECONDS,
        monotonic=clock.monotonic,
    )
    return IngestDependencies(clock=clock, endpoints=cache)


@functools.cache
def ingest_dependencies() -> IngestDependencies:
    """The process-wide dependencies of the ingest API (their caches live as long as the Lambda)."""
    return build_ingest_dependencies()


def reset_ingest_dependencies() -> None:
    ingest_dependencies.cache_clear()
