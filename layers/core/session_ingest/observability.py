"""The one Logger and Metrics of the service (Powertools), shared by every module.

Names come from the environment the template sets (`POWERTOOLS_SERVICE_NAME`,
`POWERTOOLS_METRICS_NAMESPACE`, `STAGE`); the defaults are the template's values, for the operator
tooling and tests that run without it. Every metric carries the `service` and `stage` dimensions, so
the dev and prod stacks of one account chart and alarm apart (README, Metrics).

There is no Powertools Tracer: it loads the AWS X-Ray SDK (~360 ms of every cold start, and the SDK is
in maintenance mode). Contract §8's tracing is Lambda's active tracing, which records each invocation
without any code in the function (README, Tracing).
"""

import os

from aws_lambda_powertools import Logger, Metrics

SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME") or "session-ingest"
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "SessionIngest"
# The stack's Stage parameter; "local" for the local stack and tests.
STAGE = os.environ.get("STAGE") or "local"

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
metrics.set_default_dimensions(stage=STAGE)


def metric_dimensions() -> dict[str, str]:
    """The dimensions every metric carries (for metrics emitted outside the shared set)."""
    return {"service": SERVICE_NAME, "stage": STAGE}
