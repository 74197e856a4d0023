"""`ingestctl dashboard` against moto's CloudWatch and SQS: whatever dimensions the metrics carry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
from typer.testing import CliRunner

from ingestctl.cli import app
from ingestctl.local.template import CreatedResources

NAMESPACE = "SessionIngest"


def _put(name: str, value: float, **dimensions: str) -> None:
    boto3.client("cloudwatch").put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": key, "Value": val} for key, val in dimensions.items()],
                "Value": value,
                "Timestamp": datetime.now(UTC),
            }
        ],
    )


def _dashboard(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["dashboard", "--json", *args])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def _summary(dashboard: dict[str, Any], label: str, **dimension: str) -> Any:
    return next(
        s["summary"] for s in dashboard["metrics"] if s["label"] == label and s["dimension"] == dimension
    )


def test_sums_add_up_across_the_streams_of_a_metric(aws: CreatedResources) -> None:
    # Given accepted requests counted under two dimension sets (before and after a stage dimension)
    _put("RequestsAccepted", 3, service="session-ingest")
    _put("RequestsAccepted", 2, service="session-ingest", stage="dev")
    # When the dashboard is read
    dashboard = _dashboard("--minutes", "10")
    # Then the window's total is every stream's
    assert _summary(dashboard, "requests accepted") == 5


def test_a_stage_keeps_its_own_streams_and_those_without_a_stage(aws: CreatedResources) -> None:
    # Given sessions created in two stages and by older code that named no stage
    _put("SessionsCreated", 1, service="session-ingest")
    _put("SessionsCreated", 10, service="session-ingest", stage="dev")
    _put("SessionsCreated", 100, service="session-ingest", stage="prod")
    # When the dev stage's dashboard is read
    dashboard = _dashboard("--minutes", "10", "--stage", "dev")
    # Then prod's figures are left out
    assert dashboard["stage"] == "dev"
    assert _summary(dashboard, "sessions created") == 11


def test_rejections_are_shown_per_reason_and_latency_by_its_highest(aws: CreatedResources) -> None:
    # Given rejections for two reasons and latencies
    _put("RequestsRejected", 2, service="session-ingest", reason="rate_limited")
    _put("RequestsRejected", 1, service="session-ingest", reason="invalid_payload")
    _put("AcceptToProcessedLatency", 40, service="session-ingest")
    _put("AcceptToProcessedLatency", 90, service="session-ingest")
    # When the dashboard is read
    dashboard = _dashboard()
    # Then each reason has its own line, and the latency's maximum is the highest value
    assert _summary(dashboard, "requests rejected", reason="rate_limited") == 2
    assert _summary(dashboard, "requests rejected", reason="invalid_payload") == 1
    assert _summary(dashboard, "accept-to-processed max (ms)") == 90
    # And metrics with no data read zero (sums) or nothing (the rest)
    assert _summary(dashboard, "duplicate organisation uids") == 0


def test_queue_depths_are_read_now(aws: CreatedResources) -> None:
    # Given two messages waiting in the ingest queue
    sqs = boto3.client("sqs")
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=aws.queue_urls["IngestQueue"], MessageBody=body)
    # When the dashboard is read
    queues = _dashboard()["queues"]
    # Then the ingest queue shows them, the dead-letter queue nothing
    assert queues["ingest"] == {"visible": 2, "in_flight": 0, "delayed": 0}
    assert queues["dead-letter"]["visible"] == 0


def test_the_table_view_draws_a_sparkline_per_metric(aws: CreatedResources) -> None:
    # Given one counted request
    _put("RequestsAccepted", 1, service="session-ingest")
    # When the dashboard is shown as tables
    result = CliRunner().invoke(app, ["dashboard", "--minutes", "5"])
    # Then every figure has a line, the counted one with a full block
    assert result.exit_code == 0, result.output
    assert "requests accepted" in result.stdout
    assert "█" in result.stdout
    assert "queues now" in result.stdout
