"""The consumer's CloudWatch metrics (EMF through the shared Powertools Metrics) and warning log lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from session_ingest.observability import METRICS_NAMESPACE, logger, metric_dimensions, metrics

SESSIONS_CREATED = "SessionsCreated"
SESSIONS_UPDATED = "SessionsUpdated"
RECORDS_FAILED = "RecordsFailed"
DUPLICATE_ORGANISATION_UID = "DuplicateOrganisationUid"
STALE_FIELDS_SKIPPED = "StaleFieldsSkipped"
ACCEPT_TO_PROCESSED_LATENCY = "AcceptToProcessedLatency"


def count(name: str, value: int = 1) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def accept_to_processed(accepted_at: datetime, processed_at: datetime) -> None:
    """Milliseconds from the API accepting the request to its outcome becoming final."""
    elapsed_ms = max((processed_at - accepted_at).total_seconds() * 1000, 0.0)
    metrics.add_metric(name=ACCEPT_TO_PROCESSED_LATENCY, unit=MetricUnit.Milliseconds, value=elapsed_ms)


def duplicate_organisation_uid(
    request_id: str, event_id: int, organisation_uid: str, resource_ids: Sequence[str]
) -> None:
    """contract §6 rule 4: a WARNING log line and the alarmed metric, emitted at once (not batched with the
    invocation's other metrics) so the alarm sees it even if the invocation later fails."""
    logger.warning(
        "duplicate organisation uid",
        extra={
            "warning": "duplicate_organisation_uid",
            "organisation_uid": organisation_uid,
            "event_id": event_id,
            "resource_ids": list(resource_ids),
            "request_id": request_id,
        },
    )
    with single_metric(
        name=DUPLICATE_ORGANISATION_UID,
        unit=MetricUnit.Count,
        value=1,
        namespace=METRICS_NAMESPACE,
        default_dimensions=metric_dimensions(),
    ):
        pass
