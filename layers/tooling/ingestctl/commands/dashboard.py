"""`ingestctl dashboard`: the CloudWatch dashboard's figures in a terminal, or as JSON."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingestctl.admin.dashboard import Dashboard, Series, read_dashboard
from ingestctl.commands.output import StackOption, emit
from ingestctl.resources import configure, stack_description

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
NAMESPACE_VARIABLE = "POWERTOOLS_METRICS_NAMESPACE"  # what template.yaml gives the functions


def sparkline(values: list[float | None]) -> str:
    """One character per period, scaled to the highest value; a blank where there is no data."""
    present = [value for value in values if value is not None]
    peak = max(present, default=0.0)
    if peak <= 0:
        return "".join(" " if value is None else SPARK_BLOCKS[0] for value in values)
    top = len(SPARK_BLOCKS) - 1
    return "".join(" " if value is None else SPARK_BLOCKS[round(value / peak * top)] for value in values)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _label(series: Series) -> str:
    return series.label + "".join(f" [{name}={value}]" for name, value in series.dimension.items())


def _render(dashboard: Dashboard) -> None:
    console = Console()
    window = dashboard.window
    title = (
        f"{dashboard.namespace}{f' (stage {dashboard.stage})' if dashboard.stage else ''}: "
        f"{window.start:%H:%M}-{window.end:%H:%M} UTC, one mark per {window.period_seconds // 60} min"
    )
    metrics = Table(title=title, title_justify="left")
    metrics.add_column("metric")
    metrics.add_column("stat")
    metrics.add_column("window", justify="right")
    metrics.add_column("trend", no_wrap=True)
    for series in dashboard.series:
        summary = "total" if series.stat == "Sum" else "peak"
        metrics.add_row(
            _label(series), f"{series.stat} ({summary})", _number(series.summary), sparkline(series.values)
        )
    console.print(metrics)
    queues = Table(title="queues now", title_justify="left")
    for column in ("queue", "visible", "in flight", "delayed"):
        queues.add_column(column, justify="left" if column == "queue" else "right")
    for name, depth in dashboard.queues.items():
        queues.add_row(name, str(depth.visible), str(depth.in_flight), str(depth.delayed))
    console.print(queues)


def _stage_of(stack: str | None) -> str | None:
    if not stack:
        return None
    parameters = stack_description(stack).get("Parameters", [])
    return next((p["ParameterValue"] for p in parameters if p["ParameterKey"] == "Stage"), None)


def _default_namespace() -> str:
    from session_ingest.observability import METRICS_NAMESPACE  # lazy: Powertools is slow to import

    return os.environ.get(NAMESPACE_VARIABLE) or METRICS_NAMESPACE


def dashboard_command(
    minutes: Annotated[int, typer.Option("--minutes", min=1, max=24 * 60, help="How far back to look.")] = 60,
    stack: StackOption = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Only this stage's metrics (default: the stack's Stage).")
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace", help=f"CloudWatch namespace (default: ${NAMESPACE_VARIABLE} or the service's)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """The dashboard's business metrics (a sparkline each) and the queues' depths, without the console."""
    settings = configure(stack)
    queue_urls = {"ingest": settings.ingest_queue_url}
    if settings.dead_letter_queue_url:
        queue_urls["dead-letter"] = settings.dead_letter_queue_url
    dashboard = read_dashboard(
        namespace or _default_namespace(),
        queue_urls,
        minutes,
        stage or _stage_of(stack),
        datetime.now(UTC),
    )
    if as_json:
        emit(dashboard.as_dict())
    else:
        _render(dashboard)
