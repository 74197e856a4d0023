"""The figures of the template's CloudWatch dashboard, read for `ingestctl dashboard`.

Business metrics come from GetMetricData over the service's namespace, queue depths from
GetQueueAttributes (current values). Which dimensions a metric carries (`service`, a rejection's
`reason`, a deployment `stage`) is not assumed: ListMetrics says which streams exist, and every stream
of a figure is read and combined (sums add up; averages and maxima take the highest stream, an upper
bound). With a stage, streams that name another stage are left out; streams without a stage dimension
(older code) are kept. Latency shows average and maximum rather than the console's p50/p99: percentiles
need the raw distribution, which moto's CloudWatch (the local stack) does not compute.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestctl.admin.queues import QueueDepth, queue_depth
from session_ingest.adapters.aws import client

# GetMetricData takes at most this many queries per call.
MAX_QUERIES_PER_CALL = 500
# A sparkline of at most this many points: the period grows with the window.
MAX_POINTS = 60
MIN_PERIOD_SECONDS = 60
STAGE_DIMENSION = "stage"


@dataclass(frozen=True)
class Figure:
    """One line of the dashboard: a metric, a statistic, and optionally one line per dimension value."""

    label: str
    metric: str
    stat: str
    split_by: str | None = None


# The template's dashboard widgets (template.yaml, Dashboard), in its order; a unit test keeps the two
# naming the same metrics.
FIGURES: tuple[Figure, ...] = (
    Figure("requests accepted", "RequestsAccepted", "Sum"),
    Figure("requests rejected", "RequestsRejected", "Sum", split_by="reason"),
    Figure("accept-to-processed avg (ms)", "AcceptToProcessedLatency", "Average"),
    Figure("accept-to-processed max (ms)", "AcceptToProcessedLatency", "Maximum"),
    Figure("sessions created", "SessionsCreated", "Sum"),
    Figure("sessions updated", "SessionsUpdated", "Sum"),
    Figure("records failed", "RecordsFailed", "Sum"),
    Figure("duplicate organisation uids", "DuplicateOrganisationUid", "Sum"),
    Figure("stale fields skipped", "StaleFieldsSkipped", "Sum"),
)


@dataclass(frozen=True)
class Series:
    label: str
    metric: str
    stat: str
    dimension: dict[str, str]
    values: list[float | None]  # one per period, oldest first; None = no data (sums read 0)

    @property
    def summary(self) -> float | None:
        """The window's total for a sum, its highest value otherwise."""
        present = [value for value in self.values if value is not None]
        if self.stat == "Sum":
            return sum(present)
        return max(present) if present else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "metric": self.metric,
            "stat": self.stat,
            "dimension": self.dimension,
            "summary": self.summary,
            "values": self.values,
        }


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    period_seconds: int

    @property
    def points(self) -> int:
        return int((self.end - self.start).total_seconds()) // self.period_seconds

    def index(self, moment: datetime) -> int | None:
        offset = int((moment.astimezone(UTC) - self.start).total_seconds()) // self.period_seconds
        return offset if 0 <= offset < self.points else None


@dataclass(frozen=True)
class Dashboard:
    namespace: str
    stage: str | None
    window: Window
    series: list[Series] = field(default_factory=list)
    queues: dict[str, QueueDepth] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "stage": self.stage,
            "window": {
                "start": self.window.start.isoformat().replace("+00:00", "Z"),
                "end": self.window.end.isoformat().replace("+00:00", "Z"),
                "period_seconds": self.window.period_seconds,
            },
            "metrics": [series.as_dict() for series in self.series],
            "queues": {
                name: {"visible": d.visible, "in_flight": d.in_flight, "delayed": d.delayed}
                for name, d in self.queues.items()
            },
        }


def window_ending(now: datetime, minutes: int) -> Window:
    """The last `minutes` up to the end of the current period, in whole periods."""
    period = max(MIN_PERIOD_SECONDS, math.ceil(minutes * 60 / MAX_POINTS / 60) * 60)
    epoch = int(now.timestamp())
    end = datetime.fromtimestamp((epoch // period + 1) * period, tz=UTC)
    points = max(1, math.ceil(minutes * 60 / period))
    return Window(end - timedelta(seconds=points * period), end, period)


def _streams(namespace: str) -> dict[str, list[dict[str, str]]]:
    """Each metric name of the namespace -> the dimension sets it has streams for."""
    found: dict[str, list[dict[str, str]]] = defaultdict(list)
    for page in client("cloudwatch").get_paginator("list_metrics").paginate(Namespace=namespace):
        for metric in page.get("Metrics", []):
            dimensions = {item["Name"]: item["Value"] for item in metric.get("Dimensions", [])}
            if dimensions not in found[metric["MetricName"]]:
                found[metric["MetricName"]].append(dimensions)
    return found


def _of_stage(dimension_sets: list[dict[str, str]], stage: str | None) -> list[dict[str, str]]:
    if stage is None:
        return dimension_sets
    return [dims for dims in dimension_sets if dims.get(STAGE_DIMENSION, stage) == stage]


@dataclass(frozen=True)
class _Query:
    figure: Figure
    split_value: str | None
    dimensions: dict[str, str]


def _queries(streams: dict[str, list[dict[str, str]]], stage: str | None) -> list[_Query]:
    queries: list[_Query] = []
    for figure in FIGURES:
        for dimensions in _of_stage(streams.get(figure.metric, []), stage):
            split_value = dimensions.get(figure.split_by) if figure.split_by else None
            queries.append(_Query(figure, split_value, dimensions))
    return queries


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _read(namespace: str, queries: list[_Query], window: Window) -> dict[int, dict[int, float]]:
    """Query index -> {period index: value}, through as few GetMetricData calls as its limits allow."""
    results: dict[int, dict[int, float]] = defaultdict(dict)
    numbered = list(enumerate(queries))
    for chunk in _chunks(numbered, MAX_QUERIES_PER_CALL):
        metric_queries = [
            {
                "Id": f"q{number}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": query.figure.metric,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(query.dimensions.items())],
                    },
                    "Period": window.period_seconds,
                    "Stat": query.figure.stat,
                },
                "ReturnData": True,
            }
            for number, query in chunk
        ]
        pages = (
            client("cloudwatch")
            .get_paginator("get_metric_data")
            .paginate(MetricDataQueries=metric_queries, StartTime=window.start, EndTime=window.end)
        )
        for page in pages:
            for result in page.get("MetricDataResults", []):
                number = int(result["Id"][1:])
                for moment, value in zip(
                    result.get("Timestamps", []), result.get("Values", []), strict=False
                ):
                    index = window.index(moment)
                    if index is not None:
                        results[number][index] = float(value)
    return results


def _combine(stat: str, values: list[float]) -> float:
    return sum(values) if stat == "Sum" else max(values)


def _series(queries: list[_Query], readings: dict[int, dict[int, float]], window: Window) -> list[Series]:
    grouped: dict[tuple[Figure, str | None], list[int]] = defaultdict(list)
    for number, query in enumerate(queries):
        grouped[(query.figure, query.split_value)].append(number)
    series: list[Series] = []
    for figure in FIGURES:
        splits = sorted(
            (value for (fig, value) in grouped if fig == figure), key=lambda value: value or ""
        ) or [None]
        for split_value in splits:
            numbers = grouped.get((figure, split_value), [])
            values: list[float | None] = []
            for index in range(window.points):
                found = [readings[n][index] for n in numbers if index in readings.get(n, {})]
                values.append(
                    _combine(figure.stat, found) if found else (0.0 if figure.stat == "Sum" else None)
                )
            dimension = {figure.split_by: split_value} if figure.split_by and split_value else {}
            series.append(Series(figure.label, figure.metric, figure.stat, dimension, values))
    return series


def read_dashboard(
    namespace: str, queue_urls: dict[str, str], minutes: int, stage: str | None, now: datetime
) -> Dashboard:
    """The dashboard's business metrics over the last `minutes`, and the queues' depths now."""
    window = window_ending(now, minutes)
    queries = _queries(_streams(namespace), stage)
    readings = _read(namespace, queries, window) if queries else {}
    return Dashboard(
        namespace=namespace,
        stage=stage,
        window=window,
        series=_series(queries, readings, window),
        queues={name: queue_depth(client("sqs"), url) for name, url in queue_urls.items()},
    )
