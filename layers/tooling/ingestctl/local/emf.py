"""CloudWatch Embedded Metric Format: what Lambda's log pipeline turns into metrics, done locally.

Powertools Metrics prints one JSON document with an `_aws` key per flush. In AWS, CloudWatch Logs
extracts the metrics from such lines; here each document becomes PutMetricData calls to moto, so
`DuplicateOrganisationUid` and friends can be queried with GetMetricStatistics / ListMetrics.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# PutMetricData accepts at most this many values per datum and this many data per call.
MAX_VALUES_PER_DATUM = 150
MAX_DATA_PER_CALL = 1000
# Documents gathered into one round of calls: each API invocation prints one, so publishing them one by
# one would add a CloudWatch call per request to moto's load (measured: a third of the calls moto served
# per request in `make bench-local-stack`'s single mode). A round gathers for up to GATHER_SECONDS after
# its first document; CloudWatch itself takes longer than that to show metrics from logs.
MAX_DOCUMENTS_PER_ROUND = 200
GATHER_SECONDS = 1.0


def is_emf(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("_aws"), dict)


def _values(raw: Any) -> list[float]:
    items = raw if isinstance(raw, list) else [raw]
    return [float(item) for item in items if isinstance(item, int | float) and not isinstance(item, bool)]


def _datum(
    name: str, unit: str, values: list[float], dimensions: list[dict[str, str]], timestamp: datetime
) -> dict[str, Any]:
    counts = Counter(values)
    datum: dict[str, Any] = {
        "MetricName": name,
        "Dimensions": dimensions,
        "Timestamp": timestamp,
        "Unit": unit or "None",
        "Values": list(counts),
        "Counts": [float(count) for count in counts.values()],
    }
    return datum


def metric_data(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """PutMetricData `MetricData` items per namespace, for one EMF document (one datum per dimension set)."""
    meta = document["_aws"]
    timestamp = datetime.fromtimestamp(int(meta.get("Timestamp", 0)) / 1000, tz=UTC)
    by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for directive in meta.get("CloudWatchMetrics", []):
        dimension_sets = directive.get("Dimensions") or [[]]
        for metric in directive.get("Metrics", []):
            values = _values(document.get(metric["Name"]))
            for dimension_set in dimension_sets:
                dimensions = [{"Name": key, "Value": str(document[key])} for key in dimension_set]
                for start in range(0, len(values), MAX_VALUES_PER_DATUM):
                    chunk = values[start : start + MAX_VALUES_PER_DATUM]
                    by_namespace[directive["Namespace"]].append(
                        _datum(metric["Name"], metric.get("Unit", ""), chunk, dimensions, timestamp)
                    )
    return dict(by_namespace)


class MetricsPublisher:
    """Publishes EMF documents to CloudWatch from a background thread, so handlers' output never waits."""

    def __init__(
        self, cloudwatch: Any, on_error: Callable[[str], None], gather_seconds: float = GATHER_SECONDS
    ) -> None:
        self._cloudwatch = cloudwatch
        self._on_error = on_error
        self._gather_seconds = gather_seconds
        self._documents: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="emf-publisher", daemon=True)
        self.published = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, document: dict[str, Any]) -> None:
        self._documents.put(document)

    def stop(self) -> None:
        """Publish what is queued, then stop."""
        self._documents.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            documents = self._gather()
            stopping = None in documents
            try:
                self.publish([document for document in documents if document is not None])
            except Exception as exc:  # a bad document or a stopped moto must not kill the stack
                self._on_error(f"EMF metrics not published: {exc}")

    def _gather(self) -> list[dict[str, Any] | None]:
        """The next round: the first document to arrive and those after it within the gathering time, up to
        the round's limit; `stop` (None) ends a round at once."""
        documents = [self._documents.get()]
        deadline = time.monotonic() + self._gather_seconds
        while len(documents) < MAX_DOCUMENTS_PER_ROUND and documents[-1] is not None:
            try:
                documents.append(self._documents.get(timeout=max(deadline - time.monotonic(), 0)))
            except queue.Empty:
                break
        return documents

    def publish(self, documents: list[dict[str, Any]]) -> None:
        """PutMetricData for these documents, as few calls as the API's limits allow."""
        by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for document in documents:
            for namespace, data in metric_data(document).items():
                by_namespace[namespace] += data
        for namespace, data in by_namespace.items():
            for start in range(0, len(data), MAX_DATA_PER_CALL):
                chunk = data[start : start + MAX_DATA_PER_CALL]
                self._cloudwatch.put_metric_data(Namespace=namespace, MetricData=chunk)
                self.published += len(chunk)
