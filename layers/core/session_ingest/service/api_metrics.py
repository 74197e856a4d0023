"""The ingest API's business metrics (EMF through the shared Powertools Metrics).

Every API invocation ends in exactly one of them, flushed by the handler's `log_metrics`, so the
`reason` dimension of a rejection never lands on another metric.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from session_ingest.observability import metrics

REQUESTS_ACCEPTED = "RequestsAccepted"
REQUESTS_REPLAYED = "RequestsReplayed"
REQUESTS_REJECTED = "RequestsRejected"


def record_accepted(count: int = 1) -> None:
    """Requests stored and queued: one, or a batch's items (dimension: service)."""
    metrics.add_metric(name=REQUESTS_ACCEPTED, unit=MetricUnit.Count, value=count)


def record_replayed() -> None:
    """One Idempotency-Key repeat answered with the first response; nothing queued (dimension: service)."""
    metrics.add_metric(name=REQUESTS_REPLAYED, unit=MetricUnit.Count, value=1)


def record_rejected(reason: str) -> None:
    """One request answered with an error; `reason` is its error_type (dimensions: service, reason)."""
    metrics.add_dimension(name="reason", value=reason)
    metrics.add_metric(name=REQUESTS_REJECTED, unit=MetricUnit.Count, value=1)
