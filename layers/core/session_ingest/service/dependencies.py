"""What the use cases talk to, built by the factories here (never at import time): the one place that
names the adapters behind each port (service.ports).

Tests build their own `IngestDependencies`/`ConsumerDependencies` (a controlled clock, a fault-injecting
sender, the in-memory fakes of tests/support/fakes.py) or call `reset_ingest_dependencies()` so no cache
outlives its moto account.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from session_ingest import limits
from session_ingest.adapters.clock import SystemClock
from session_ingest.adapters.queue_publisher import send_envelope, send_envelope_batch
from session_ingest.adapters.request_ledger import RequestLedger
from session_ingest.adapters.sessions_repo import SessionsRepository
from session_ingest.adapters.unit_of_work import dynamo_unit_of_work
from session_ingest.domain.rate_limit import KnownCounts
from session_ingest.service.ports import (
    BatchEnvelopeSender,
    Clock,
    EndpointsPort,
    EnvelopeSender,
    RequestLedgerPort,
    SessionsPort,
    UnitOfWorkFactory,
)
from session_ingest.settings import get_settings

if TYPE_CHECKING:
    from session_ingest.domain.models import EndpointConfig
    from session_ingest.service.match_preview import DryRunMatch, MatchPreviewer


@dataclass
class IngestDependencies:
    clock: Clock
    endpoints: EndpointsPort
    ledger: RequestLedgerPort
    preview_match: MatchPreviewer
    unit_of_work: UnitOfWorkFactory = dynamo_unit_of_work
    known_counts: KnownCounts = field(default_factory=KnownCounts)
    send: EnvelopeSender = send_envelope
    send_batch: BatchEnvelopeSender = send_envelope_batch


@dataclass
class ConsumerDependencies:
    """The ports the consumer needs; tests pass their own clock, sleep or fakes."""

    sessions: SessionsPort
    ledger: RequestLedgerPort
    clock: Clock = field(default_factory=SystemClock)
    unit_of_work: UnitOfWorkFactory = dynamo_unit_of_work
    sleep: Callable[[float], None] = time.sleep
    # The queue's maxReceiveCount (template.yaml RedrivePolicy): a failure on that receive dead-letters.
    max_receive_count: int | None = None


def request_ledger() -> RequestLedger:
    return RequestLedger(get_settings().requests_table)


def sessions_repository() -> SessionsRepository:
    return SessionsRepository(get_settings().sessions_table)


def previewer(sessions: SessionsPort) -> MatchPreviewer:
    """The dry run's match preview, reading `sessions`."""

    def preview(config: EndpointConfig, record: dict[str, Any]) -> DryRunMatch:
        # Imported here: only dry runs preview a match (the rest of the API and the consumer never do).
        from session_ingest.service.match_preview import preview_match

        return preview_match(sessions, config, record)

    return preview


def build_ingest_dependencies(clock: Clock | None = None) -> IngestDependencies:
    """Fresh dependencies with empty caches, reading the cache TTL from the settings."""
    # Imported here: the endpoints table (and its token rules) is the ingest API's, never the consumer's.
    from session_ingest.adapters.endpoint_store import EndpointCache, EndpointStore

    clock = clock or SystemClock()
    cache = EndpointCache(
        EndpointStore(),
        ttl_seconds=get_settings().config_cache_seconds,
        miss_refresh_seconds=limits.CACHE_MISS_REFRESH_SECONDS,
        monotonic=clock.monotonic,
    )
    return IngestDependencies(
        clock=clock,
        endpoints=cache,
        ledger=request_ledger(),
        preview_match=previewer(sessions_repository()),
    )


@functools.cache
def ingest_dependencies() -> IngestDependencies:
    """The process-wide dependencies of the ingest API (their caches live as long as the Lambda)."""
    return build_ingest_dependencies()


def reset_ingest_dependencies() -> None:
    ingest_dependencies.cache_clear()


def consumer_dependencies() -> ConsumerDependencies:
    settings = get_settings()
    return ConsumerDependencies(
        sessions=SessionsRepository(settings.sessions_table),
        ledger=RequestLedger(settings.requests_table),
        max_receive_count=settings.max_receive_count,
    )
