"""The ingest API's business metrics (EMF through the shared Powertools Metrics)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from session_ingest.observability import METRICS_NAMESPACE, SERVICE_NAME, metrics

REQUESTS_ACCEPTED = "RequestsAccepted"
REQUESTS_REJECTED = "RequestsRejected"


def record_accepted() -> None:
    """One request stored and queued (dimension: service)."""
    metrics.add_metric(name=REQUESTS_ACCEPTED, unit=MetricUnit.Count, value=1)


def record_rejected(reason: str) -> None:
    """One request answered with an error; `reason` is the reply's error_type (dimensions: service, reason).

    A metric of its own (single_metric), so its extra `reason` dimension does not attach to the
    invocation's other metrics.
    """
    with single_metric(
        name=REQUESTS_REJECTED,
        unit=MetricUnit.Count,
        value=1,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE_NAME},
    ) as metric:
        metric.add_dimension(name="reason", value=reason)
