"""`ingestctl dashboard`: the figures it shows are the template dashboard's, drawn as sparklines."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from ingestctl.admin.dashboard import FIGURES, window_ending
from ingestctl.commands.dashboard import sparkline
from ingestctl.local.template import load_template


def _template_dashboard_metrics() -> set[str]:
    body = load_template()["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    from_selects = re.findall(r"SUM\((\w+)\) FROM SessionIngest", body)
    from_searches = re.findall(r'MetricName=\\\\?"(\w+)\\\\?"', body)
    return set(from_selects) | set(from_searches)


def test_the_cli_shows_every_business_metric_of_the_template_dashboard() -> None:
    # Given the custom metrics the template's dashboard draws
    in_template = _template_dashboard_metrics()
    # When compared with the figures `ingestctl dashboard` reads
    in_cli = {figure.metric for figure in FIGURES}
    # Then they are the same metrics
    assert in_template, "no SessionIngest metric found in the template's dashboard"
    assert in_cli == in_template


@pytest.mark.parametrize(
    ("values", "line"),
    [
        pytest.param([0.0, 1.0, 2.0, 4.0, 8.0], "▁▂▃▅█", id="scaled-to-the-peak"),
        pytest.param([None, 5.0, None], " █ ", id="no-data-is-blank"),
        pytest.param([0.0, 0.0], "▁▁", id="all-zero"),
        pytest.param([], "", id="empty"),
    ],
)
def test_a_sparkline_has_one_mark_per_period_scaled_to_the_highest(
    values: list[float | None], line: str
) -> None:
    # When a series is drawn
    # Then each period is one character, the highest value the tallest block
    assert sparkline(values) == line


@pytest.mark.parametrize(
    ("minutes", "period", "points"),
    [
        pytest.param(5, 60, 5, id="minutes-at-one-minute"),
        pytest.param(60, 60, 60, id="an-hour-at-one-minute"),
        pytest.param(180, 180, 60, id="three-hours-at-three-minutes"),
        pytest.param(24 * 60, 1440, 60, id="a-day-at-24-minutes"),
    ],
)
def test_the_window_ends_with_the_current_period_and_has_at_most_sixty_points(
    minutes: int, period: int, points: int
) -> None:
    # Given a moment inside a minute
    now = datetime(2026, 6, 14, 12, 30, 20, tzinfo=UTC)
    # When the window of the last `minutes` is taken
    window = window_ending(now, minutes)
    # Then it is whole periods, covering now, with at most 60 of them
    assert (window.period_seconds, window.points) == (period, points)
    assert window.start < now < window.end
    assert window.index(now) == points - 1
