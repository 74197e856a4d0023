"""Ingest API tests and benchmarks: API Gateway REST proxy events, a client over the handler, a clock."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import ingest_api_handler

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"

# The shape API Gateway (REST API, Lambda proxy integration) sends; the events/ files use it too.
_EVENT_TEMPLATE: dict[str, Any] = {
    "resource": "/api/webhook/ingest/{endpoint_id}",
    "path": "",
    "httpMethod": "POST",
    "headers": {},
    "multiValueHeaders": {},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": {},
    "stageVariables": None,
    "requestContext": {
        "resourceId": "abc123",
        "resourcePath": "/api/webhook/ingest/{endpoint_id}",
        "httpMethod": "POST",
        "extendedRequestId": "Rk1dbFvBjoEFdHw=",
        "requestTime": "14/Jun/2026:12:00:05 +0000",
        "path": "/Prod/api/webhook/ingest/",
        "accountId": "123456789012",
        "protocol": "HTTP/1.1",
        "stage": "Prod",
        "domainPrefix": "abcdef1234",
        "requestTimeEpoch": 1781438405000,
        "requestId": "",
        "identity": {"sourceIp": "203.0.113.10", "userAgent": "integrator/1.0"},
        "domainName": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
        "apiId": "abcdef1234",
    },
    "body": None,
    "isBase64Encoded": False,
}


@dataclass
class LambdaContextStub:
    function_name: str = "IngestApiFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:IngestApiFunction"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def rest_event(
    method: str,
    path: str,
    *,
    resource: str,
    path_parameters: dict[str, str],
    headers: dict[str, str],
    body: str | None = None,
    is_base64_encoded: bool = False,
    request_id: str | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event for one request."""
    event = copy.deepcopy(_EVENT_TEMPLATE)
    event.update(
        resource=resource,
        path=path,
        httpMethod=method,
        headers=dict(headers),
        multiValueHeaders={name: [value] for name, value in headers.items()},
        pathParameters=path_parameters,
        body=body,
        isBase64Encoded=is_base64_encoded,
    )
    if query:
        event["queryStringParameters"] = dict(query)
        event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    context = event["requestContext"]
    context.update(resourcePath=resource, httpMethod=method, path=f"/Prod{path}")
    context["requestId"] = request_id or str(uuid.uuid4())
    return event


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return event


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error_type(self) -> str | None:
        return self.body.get("error_type") if isinstance(self.body, dict) else None


def invoke(event: dict[str, Any]) -> HttpResult:
    """Drive one event through the real Lambda handler and read the proxy response back."""
    response = ingest_api_handler.lambda_handler(event, LambdaContextStub())
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    raw = response.get("body")
    return HttpResult(response["statusCode"], headers, json.loads(raw) if raw else None)


_UNSET: Any = object()


@dataclass
class ApiClient:
    """An integrator's view of the API: one endpoint and its token, requests sent through the handler."""

    endpoint_id: str
    token: str

    def _headers(self, token: str | None, content_type: str | None, extra: dict[str, str]) -> dict[str, str]:
        headers = {"Accept": "application/json", **extra}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if content_type is not None:
            headers["Content-Type"] = content_type
        return headers

    def post(
        self,
        body: Any,
        *,
        token: str | None = _UNSET,
        endpoint_id: str | None = None,
        content_type: str | None = "application/json",
        idempotency_key: str | None = None,
        base64_encoded: bool = False,
        dry_run: bool = False,
        headers: dict[str, str] | None = None,
    ) -> HttpResult:
        endpoint_id = endpoint_id or self.endpoint_id
        extra = dict(headers or {})
        if idempotency_key is not None:
            extra["Idempotency-Key"] = idempotency_key
        text = body if isinstance(body, str | bytes) else json.dumps(body)
        raw = text.encode("utf-8") if isinstance(text, str) else text
        suffix = "/test" if dry_run else ""
        return invoke(
            rest_event(
                "POST",
                f"/api/webhook/ingest/{endpoint_id}{suffix}",
                resource=f"/api/webhook/ingest/{{endpoint_id}}{suffix}",
                path_parameters={"endpoint_id": endpoint_id},
                headers=self._headers(self.token if token is _UNSET else token, content_type, extra),
                body=base64.b64encode(raw).decode("ascii") if base64_encoded else raw.decode("utf-8"),
                is_base64_encoded=base64_encoded,
            )
        )

    def get_outcome(
        self, request_id: str, *, token: str | None = _UNSET, endpoint_id: str | None = None
    ) -> HttpResult:
        endpoint_id = endpoint_id or self.endpoint_id
        return invoke(
            rest_event(
                "GET",
                f"/api/webhook/ingest/{endpoint_id}/requests/{request_id}",
                resource="/api/webhook/ingest/{endpoint_id}/requests/{request_id}",
                path_parameters={"endpoint_id": endpoint_id, "request_id": request_id},
                headers=self._headers(self.token if token is _UNSET else token, None, {}),
            )
        )

    def list_requests(
        self, *, token: str | None = _UNSET, endpoint_id: str | None = None, **query: str
    ) -> HttpResult:
        """`GET …/{endpoint_id}/requests` with these query parameters (status, since, limit, cursor)."""
        endpoint_id = endpoint_id or self.endpoint_id
        return invoke(
            rest_event(
                "GET",
                f"/api/webhook/ingest/{endpoint_id}/requests",
                resource="/api/webhook/ingest/{endpoint_id}/requests",
                path_parameters={"endpoint_id": endpoint_id},
                headers=self._headers(self.token if token is _UNSET else token, None, {}),
                query=query,
            )
        )


class FakeClock:
    """A clock the test moves by hand (wall clock and monotonic clock advance together)."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._monotonic = 1_000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds
