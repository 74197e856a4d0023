"""Fixtures for every ring: no real AWS credentials or region ever reach a test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from session_ingest.adapters.aws import reset_clients
from session_ingest.observability import metrics
from session_ingest.settings import get_settings

# Properties are checked here, never timed: on a loaded CI machine (two suites on two cores) an example
# can take many times its usual time, which Hypothesis' default deadline and too_slow check would fail.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

# Fails any test whose captured output holds a token secret issued during the session (contract §3).
pytest_plugins = ["tests.support.secret_guard", "pytester"]


@pytest.fixture(autouse=True)
def _isolated_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Given dummy credentials and region, so nothing can talk to a real account
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SessionIngest")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    reset_clients()
    get_settings.cache_clear()
    # Powertools Metrics instances share one metric set per process: start every test empty.
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
    reset_clients()
    get_settings.cache_clear()
