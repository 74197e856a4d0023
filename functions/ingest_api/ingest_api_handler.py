"""Ingest API Lambda (API Gateway REST proxy): routes to the use cases, shapes their replies.

The request id (API Gateway's, a UUID) is the correlation id of every log line, the `X-Request-Id`
of every response and, for an accepted payload, its `request_id`. The event is never logged: it holds
the bearer token.
"""

from __future__ import annotations

from session_ingest.init_phase import end_of_init

import uuid
import warnings
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from session_ingest import snapstart
from session_ingest.errors import IngestError
from session_ingest.observability import logger, metrics
from session_ingest.service import api_routes as doc
from session_ingest.service.api_metrics import record_rejected
from session_ingest.service.http_replies import (
    ApiReply,
    accepted_reply,
    batch_reply,
    dry_run_reply,
    error_reply,
    listing_reply,
    not_found_reply,
    outcome_reply,
)
from session_ingest.service.ingest import (
    IngestRequest,
    accept_payload,
    dry_run,
    get_request_outcome,
    list_endpoint_requests,
)

INGEST_PATH = "/api/webhook/ingest/<endpoint_id>"

# Status lookups and dry runs publish no business metric; Powertools would warn on each of them.
warnings.filterwarnings("ignore", message="No application metrics to publish")

# debug=False explicitly: Powertools' debug mode (an environment variable) would print the event.
app = APIGatewayRestResolver(debug=False)


def _request_id() -> str:
    request_id: str = app.context["request_id"]
    return request_id


def _respond(reply: ApiReply) -> Response[Any]:
    headers = {"X-Request-Id": _request_id(), "Cache-Control": "no-store", **reply.headers}
    return Response(
        status_code=reply.status, content_type="application/json", body=reply.body, headers=headers
    )


def _ingest_request(endpoint_id: str) -> IngestRequest:
    event = app.current_event
    headers = event.headers
    return IngestRequest(
        endpoint_id=endpoint_id,
        request_id=_request_id(),
        authorization=headers.get("authorization"),
        content_type=headers.get("content-type"),
        body=event.body,
        body_is_base64=bool(event.is_base64_encoded),
        idempotency_key=headers.get("idempotency-key"),
    )


@app.post(
    INGEST_PATH,
    operation_id="ingestPayload",
    summary="Validate and queue one payload",
    description=doc.INGEST_DESCRIPTION,
    responses=doc.INGEST_RESPONSES,
    tags=doc.TAGS,
    security=doc.SECURITY,
)
def ingest(endpoint_id: str) -> Response[Any]:
    return _respond(accepted_reply(accept_payload(_ingest_request(endpoint_id))))


@app.post(
    f"{INGEST_PATH}/test",
    operation_id="dryRunPayload",
    summary="Validate and map one payload without storing or queuing it",
    description=doc.DRY_RUN_DESCRIPTION,
    responses=doc.DRY_RUN_RESPONSES,
    tags=doc.TAGS,
    security=doc.SECURITY,
)
def ingest_dry_run(endpoint_id: str) -> Response[Any]:
    return _respond(dry_run_reply(dry_run(_ingest_request(endpoint_id))))


@app.post(
    f"{INGEST_PATH}/batch",
    operation_id="ingestBatch",
    summary="Validate and queue up to 100 payloads, each its own request",
    description=doc.BATCH_DESCRIPTION,
    responses=doc.BATCH_RESPONSES,
    tags=doc.TAGS,
    security=doc.SECURITY,
)
def ingest_batch(endpoint_id: str) -> Response[Any]:
    # Imported here: only batch requests pay for the batch use case's import.
    from session_ingest.service.batch_ingest import accept_batch

    return _respond(batch_reply(accept_batch(_ingest_request(endpoint_id))))


@app.get(
    f"{INGEST_PATH}/requests/<request_id>",
    operation_id="getRequestOutcome",
    summary="The outcome of an accepted request",
    description=doc.OUTCOME_DESCRIPTION,
    responses=doc.OUTCOME_RESPONSES,
    tags=doc.TAGS,
    security=doc.SECURITY,
)
def request_outcome(endpoint_id: str, request_id: str) -> Response[Any]:
    authorization = app.current_event.headers.get("authorization")
    return _respond(outcome_reply(get_request_outcome(endpoint_id, request_id, authorization)))


@app.get(
    f"{INGEST_PATH}/requests",
    operation_id="listRequests",
    summary="This endpoint's requests, newest first",
    description=doc.LISTING_DESCRIPTION,
    responses=doc.LISTING_RESPONSES,
    tags=doc.TAGS,
    security=doc.SECURITY,
)
def request_listing(endpoint_id: str) -> Response[Any]:
    event = app.current_event
    parameters = event.query_string_parameters or {}
    return _respond(
        listing_reply(list_endpoint_requests(endpoint_id, event.headers.get("authorization"), parameters))
    )


@app.not_found
def unknown_route(_: NotFoundError) -> Response[Any]:
    reply = not_found_reply()
    record_rejected(reply.error_type or "not_found")
    return _respond(reply)


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def failed(error: Exception) -> Response[Any]:
    reply = error_reply(error)
    if not isinstance(error, IngestError):
        logger.exception("unexpected failure; the client is told to retry")
    record_rejected(reply.error_type or "unknown")
    logger.info("request rejected", extra={"status": reply.status, "error_type": reply.error_type})
    return _respond(reply)


def _invocation_request_id(event: dict[str, Any]) -> str:
    """API Gateway's request id; a fresh UUID when the event carries none (direct invocations)."""
    candidate = (event.get("requestContext") or {}).get("requestId")
    try:
        request_id = str(uuid.UUID(str(candidate)))
    except ValueError:
        request_id = str(uuid.uuid4())
    logger.set_correlation_id(request_id)
    return request_id


def prime_first_request() -> None:
    """SnapStart: before the snapshot, build what the first request needs (session_ingest/snapstart.py)."""
    snapstart.prime(("dynamodb", "sqs"), json_schema=True)


snapstart.register_hooks(prime_first_request)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(request_id=_invocation_request_id(event))  # type: ignore[no-untyped-call]
    return app.resolve(event, context)


end_of_init()  # last: everything above is the init (session_ingest/init_phase.py)
