"""EMF documents printed by Powertools become CloudWatch PutMetricData items."""

from __future__ import annotations

import io
import json
import threading
from contextlib import redirect_stdout
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ingestctl.local.emf import MetricsPublisher, is_emf, metric_data
from ingestctl.local.logs import LogRouter


def _powertools_document() -> dict[str, object]:
    metrics = Metrics(namespace="SessionIngest", service="session-ingest")
    metrics.add_metric(name="DuplicateOrganisationUid", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="AcceptToProcessedLatency", unit=MetricUnit.Milliseconds, value=12)
    metrics.add_metric(name="AcceptToProcessedLatency", unit=MetricUnit.Milliseconds, value=12)
    metrics.add_metric(name="AcceptToProcessedLatency", unit=MetricUnit.Milliseconds, value=30)
    output = io.StringIO()
    with redirect_stdout(output):
        metrics.flush_metrics()
    document: dict[str, object] = json.loads(output.getvalue())
    return document


def test_a_powertools_flush_becomes_metric_data_with_its_dimensions_units_and_values() -> None:
    # Given the EMF line Powertools prints on flush
    document = _powertools_document()
    # When it is converted
    data = metric_data(document)["SessionIngest"]
    by_name = {datum["MetricName"]: datum for datum in data}
    # Then every metric keeps its unit and its dimensions; repeated values are counted
    assert set(by_name) == {"DuplicateOrganisationUid", "AcceptToProcessedLatency"}
    assert by_name["DuplicateOrganisationUid"]["Values"] == [1.0]
    assert by_name["DuplicateOrganisationUid"]["Unit"] == "Count"
    # (stage: a default dimension every Metrics instance shares, set by session_ingest.observability)
    assert sorted(by_name["DuplicateOrganisationUid"]["Dimensions"], key=lambda d: d["Name"]) == [
        {"Name": "service", "Value": "session-ingest"},
        {"Name": "stage", "Value": "local"},
    ]
    latency = by_name["AcceptToProcessedLatency"]
    assert dict(zip(latency["Values"], latency["Counts"], strict=True)) == {12.0: 2.0, 30.0: 1.0}
    assert latency["Unit"] == "Milliseconds"


def test_emf_lines_go_to_metrics_and_log_lines_to_the_terminal() -> None:
    # Given a router between a function's output, the terminal and CloudWatch
    terminal = io.StringIO()
    published: list[dict[str, object]] = []
    router = LogRouter(terminal, published.append)
    # When the function prints an EMF document and a Powertools log record
    router.function_output("IngestConsumerFunction", json.dumps(_powertools_document()))
    router.function_output(
        "IngestConsumerFunction",
        json.dumps({"level": "WARNING", "message": "duplicate organisation uid", "correlation_id": "r1"}),
    )
    # Then the metrics are published, not printed, and the log record is printed readably
    assert len(published) == 1
    assert is_emf(published[0])
    lines = terminal.getvalue().splitlines()
    assert len(lines) == 1
    assert "WARNING" in lines[0]
    assert "IngestConsumer" in lines[0]
    assert 'duplicate organisation uid  correlation_id="r1"' in lines[0]


class RecordingCloudWatch:
    """PutMetricData calls, as the publisher makes them."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.called = threading.Event()

    def put_metric_data(self, **arguments: Any) -> None:
        self.calls.append(arguments)
        self.called.set()


def test_documents_printed_close_together_are_published_in_one_call() -> None:
    # Given a publisher whose rounds gather documents for longer than this test takes
    cloudwatch = RecordingCloudWatch()
    errors: list[str] = []
    publisher = MetricsPublisher(cloudwatch, errors.append, gather_seconds=600)
    publisher.start()
    # When three invocations print a document each, and the stack then stops
    for _ in range(3):
        publisher.submit(_powertools_document())
    publisher.stop()
    # Then one PutMetricData carries the data of all three
    assert errors == []
    assert len(cloudwatch.calls) == 1
    names = [datum["MetricName"] for datum in cloudwatch.calls[0]["MetricData"]]
    assert names.count("DuplicateOrganisationUid") == 3


def test_a_document_is_published_when_its_round_ends_without_waiting_for_the_stack_to_stop() -> None:
    # Given a publisher whose rounds end as soon as no document is waiting
    cloudwatch = RecordingCloudWatch()
    publisher = MetricsPublisher(cloudwatch, lambda message: None, gather_seconds=0)
    publisher.start()
    try:
        # When one invocation prints a document
        publisher.submit(_powertools_document())
        # Then it reaches CloudWatch while the stack runs
        assert cloudwatch.called.wait(timeout=60)
        assert cloudwatch.calls[0]["Namespace"] == "SessionIngest"
    finally:
        publisher.stop()
