"""The API function's library floor: what the libraries DESIGN chose cost before any code of ours.

The boto3 baseline (baseline_handler) plus what the real handler cannot do without: Powertools' Logger
and Metrics around the handler, its REST resolver routing the real event, and pydantic validating one
small model (the real handler's settings, endpoint and envelope are pydantic models). bench_cold_start
runs it with the built layer on the path, so the libraries are the deployed ones, precompiled.
`untraced - floor` is then what the service's own code adds to a cold start.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from baseline_handler import replay_recorded_calls
from pydantic import BaseModel

logger = Logger(service="library-floor")
metrics = Metrics(namespace="LibraryFloor", service="library-floor")
app = APIGatewayRestResolver()


class Accepted(BaseModel):
    endpoint_id: str
    request_id: str


@app.post("/api/webhook/ingest/<endpoint_id>")
def ingest(endpoint_id: str) -> dict[str, Any]:
    replay_recorded_calls()
    metrics.add_metric(name="RequestsAccepted", unit="Count", value=1)
    return Accepted(
        endpoint_id=endpoint_id, request_id=app.current_event.request_context.request_id
    ).model_dump()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
