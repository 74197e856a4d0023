"""The shared Metrics take their names from the template's environment and carry the stage (observability.py).

Each case imports the module in a fresh interpreter: its names are read once, at import, as in Lambda.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

FLUSH_ONE_METRIC = """
from aws_lambda_powertools.metrics import MetricUnit
from session_ingest.observability import metrics
metrics.add_metric(name="RequestsAccepted", unit=MetricUnit.Count, value=1)
metrics.flush_metrics()
"""
NAMES = ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "STAGE")


def flushed_metric(environment: dict[str, str]) -> dict[str, object]:
    """The EMF document printed when one metric is flushed under `environment`."""
    inherited = {name: value for name, value in os.environ.items() if name not in NAMES}
    result = subprocess.run(
        [sys.executable, "-c", FLUSH_ONE_METRIC],
        env={**inherited, **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith('{"_aws"'))
    document: dict[str, object] = json.loads(line)
    return document


@pytest.mark.parametrize(
    ("environment", "namespace", "dimensions"),
    [
        pytest.param(
            {"POWERTOOLS_SERVICE_NAME": "svc", "POWERTOOLS_METRICS_NAMESPACE": "Ns", "STAGE": "prod"},
            "Ns",
            {"service": "svc", "stage": "prod"},
            id="the template's variables",
        ),
        pytest.param({}, "SessionIngest", {"service": "session-ingest", "stage": "local"}, id="unset"),
    ],
)
def test_metrics_are_named_by_the_environment_and_carry_the_stage(
    environment: dict[str, str], namespace: str, dimensions: dict[str, str]
) -> None:
    # Given the functions' environment (or none, as for the tooling and tests)
    # When a metric is flushed
    document = flushed_metric(environment)
    # Then its namespace and dimensions are the environment's (the defaults are the template's values)
    directive = document["_aws"]["CloudWatchMetrics"][0]  # type: ignore[index]
    assert directive["Namespace"] == namespace
    assert {name: document[name] for name in directive["Dimensions"][0]} == dimensions
