"""The warm Lambda's endpoint cache: reads saved, revocations honoured within the TTL (no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from session_ingest import limits
from session_ingest.adapters.endpoint_store import EndpointCache, StoredEndpoint
from session_ingest.domain.models import EndpointConfig
from session_ingest.domain.tokens import StoredToken

NOW = datetime(2026, 6, 14, tzinfo=UTC)


class FakeStore:
    """An endpoints table in memory that counts its reads."""

    def __init__(self) -> None:
        self.endpoints: dict[str, StoredEndpoint] = {}
        self.reads = 0

    def load(self, endpoint_id: str) -> StoredEndpoint | None:
        self.reads += 1
        return self.endpoints.get(endpoint_id)

    def put(self, endpoint_id: str, *token_ids: str) -> None:
        config = EndpointConfig(endpoint_id=endpoint_id, organisation="acme", event_id=1, created_at=NOW)
        self.endpoints[endpoint_id] = StoredEndpoint(config, {t: StoredToken(t, "h", NOW) for t in token_ids})


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cache(store: Any, ticks: Ticks) -> EndpointCache:
    return EndpointCache(store, ttl_seconds=30, miss_refresh_seconds=1, monotonic=ticks)


def test_a_cached_endpoint_is_not_read_again_within_the_ttl() -> None:
    store, ticks = FakeStore(), Ticks()
    store.put("e", "t")
    endpoints = cache(store, ticks)
    for moment in (0.0, 10.0, 29.9):
        ticks.now = moment
        assert endpoints.get("e", "t") is not None
    assert store.reads == 1


def test_the_endpoint_is_read_again_once_the_ttl_has_passed() -> None:
    store, ticks = FakeStore(), Ticks()
    store.put("e", "t")
    endpoints = cache(store, ticks)
    endpoints.get("e", "t")
    store.put("e")  # the token is gone (revoked tokens are filtered the same way by their flag)
    ticks.now = 30.0
    endpoint = endpoints.get("e", "t")
    assert endpoint is not None
    assert "t" not in endpoint.tokens
    assert store.reads == 2


def test_an_unknown_token_rereads_at_most_once_per_interval() -> None:
    store, ticks = FakeStore(), Ticks()
    store.put("e", "t")
    endpoints = cache(store, ticks)
    endpoints.get("e", "t")
    for _ in range(5):
        endpoints.get("e", "bogus")
    assert store.reads == 1
    ticks.now = 1.0
    endpoints.get("e", "bogus")
    assert store.reads == 2


def test_a_token_created_after_caching_works_after_the_miss_interval() -> None:
    store, ticks = FakeStore(), Ticks()
    store.put("e", "old")
    endpoints = cache(store, ticks)
    endpoints.get("e", "old")
    store.put("e", "old", "new")
    ticks.now = 1.0
    endpoint = endpoints.get("e", "new")
    assert endpoint is not None
    assert "new" in endpoint.tokens


def test_unknown_endpoints_are_remembered_briefly() -> None:
    store, ticks = FakeStore(), Ticks()
    endpoints = cache(store, ticks)
    assert endpoints.get("nope", "t") is None
    assert endpoints.get("nope", "t") is None
    assert store.reads == 1
    store.put("nope", "t")
    ticks.now = 1.0
    assert endpoints.get("nope", "t") is not None


def test_the_cache_forgets_the_oldest_endpoint_beyond_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CACHED_ENDPOINTS", 2)
    store, ticks = FakeStore(), Ticks()
    for name in ("a", "b", "c"):
        store.put(name, "t")
    endpoints = cache(store, ticks)
    for name in ("a", "b", "c", "b", "a"):
        endpoints.get(name, "t")
    assert store.reads == 4  # a was forgotten when c arrived; b stayed
