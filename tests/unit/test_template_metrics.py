"""Custom metrics in the template: every query is this stack's stage, and every emitted metric is charted."""

from __future__ import annotations

import re

import pytest

from ingestctl.local.template import load_template
from session_ingest.service import api_metrics, consumer_metrics
from tests.unit.test_template_rules import dashboard_expressions, substituted_dashboard_body

TEMPLATE = load_template()
VARIABLES = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
NAMESPACE = VARIABLES["POWERTOOLS_METRICS_NAMESPACE"]
EMITTED = sorted(
    value
    for module in (api_metrics, consumer_metrics)
    for name, value in vars(module).items()
    # The modules' metric-name constants (consumer_metrics also imports the namespace's).
    if name.isupper() and isinstance(value, str) and name != "METRICS_NAMESPACE"
)


def custom_metric_queries() -> list[str]:
    """Every dashboard expression and alarm query that reads the service's own namespace."""
    alarm_queries = [
        query["Expression"]["Fn::Sub"] if isinstance(query["Expression"], dict) else query["Expression"]
        for resource in TEMPLATE["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for query in resource["Properties"].get("Metrics", [])
        if "Expression" in query
    ]
    dashboard = dashboard_expressions(substituted_dashboard_body())
    return [query for query in [*alarm_queries, *dashboard] if NAMESPACE in query]


def test_the_functions_get_the_stage_and_the_names_the_metrics_are_queried_by() -> None:
    # Given the functions' environment
    # Then the stage is the Stage parameter and the namespace is the one the queries read
    assert VARIABLES["STAGE"] == {"Ref": "Stage"}
    assert VARIABLES["POWERTOOLS_SERVICE_NAME"] == "session-ingest"
    assert custom_metric_queries()


@pytest.mark.parametrize("query", custom_metric_queries())
def test_every_custom_metric_query_reads_only_this_stacks_stage(query: str) -> None:
    # Given a dashboard widget's or an alarm's query of the namespace
    # When its filter is read
    stage_filter = re.search(r"WHERE stage = '([^']+)'|stage=\"([^\"]+)\"", query)
    # Then it filters by the stage dimension, on the stack's Stage
    assert stage_filter is not None, query
    assert set(stage_filter.groups()) - {None} in ({"${Stage}"}, {"dev"})


@pytest.mark.parametrize("metric", EMITTED)
def test_every_metric_the_code_emits_is_charted(metric: str) -> None:
    # Given a metric name the functions emit (RequestsReplayed among them)
    queries = " ".join(dashboard_expressions(substituted_dashboard_body()))
    # Then a dashboard widget queries it
    assert f"({metric}) FROM {NAMESPACE}" in queries or f'MetricName="{metric}"' in queries
