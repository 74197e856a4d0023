"""API Gateway (REST API, Lambda proxy integration) in front of the functions, over werkzeug.

Routes are the `Type: Api` events of the template's functions. Each request becomes the proxy event the
deployed function receives (`resource`, `path`, `pathParameters`, headers and multi-value headers,
query string, body with `isBase64Encoded`, `requestContext`); the function's proxy response becomes
the HTTP response. API Gateway's own answers are kept: 403 `Missing Authentication Token` for an
unknown route or method, 502 for a function error or a malformed response, 413 past 10 MB.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from ingestctl.local.functions import ApiRoute, GatewayResponse

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
LOCAL_API_ID = "local"

# Invokes the named function with an event; returns the handler's result or raises.
Invoker = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True)
class Route:
    function: str
    resource: str  # the path template, e.g. /api/webhook/ingest/{endpoint_id}
    method: str  # upper case, or ANY
    stage: str
    pattern: re.Pattern[str]
    parameter_names: tuple[str, ...]
    specificity: tuple[int, ...]  # per segment: 0 literal, 1 {param}, 2 {greedy+}; lower wins
    gateway_responses: dict[str, GatewayResponse]


def compile_route(function: str, route: ApiRoute) -> Route:
    names: list[str] = []
    parts: list[str] = []
    specificity: list[int] = []
    for segment in route.path.strip("/").split("/"):
        match = re.fullmatch(r"\{([^}+]+)(\+?)\}", segment)
        if match is None:
            parts.append(re.escape(segment))
            specificity.append(0)
        else:
            names.append(match.group(1))
            parts.append("(.+)" if match.group(2) else "([^/]+)")
            specificity.append(2 if match.group(2) else 1)
    pattern = re.compile("/" + "/".join(parts) if parts != [""] else "/")
    return Route(
        function,
        route.path,
        route.method,
        route.stage,
        pattern,
        tuple(names),
        tuple(specificity),
        route.gateway_responses,
    )


class RouteTable:
    """Matches a method and path as API Gateway does: the most specific resource, then its method."""

    def __init__(self, routes: list[Route]) -> None:
        self._routes = sorted(routes, key=lambda route: (route.specificity, route.method == "ANY"))
        # An unmatched request belongs to no route; with one API (the usual case) its responses apply.
        self.gateway_responses = routes[0].gateway_responses if routes else {}

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        normalised = "/" + path.strip("/")
        for route in self._routes:
            found = route.pattern.fullmatch(normalised)
            if found and route.method in (method.upper(), "ANY"):
                return route, dict(zip(route.parameter_names, found.groups(), strict=True))
        return None


def _headers(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        multi.setdefault(name, []).append(value)
    source_ip = request.remote_addr or "127.0.0.1"
    # Headers API Gateway adds in front of the integration.
    multi.setdefault("X-Forwarded-For", [source_ip])
    multi.setdefault("X-Forwarded-Proto", [request.scheme])
    multi.setdefault("X-Forwarded-Port", [str(request.server[1] if request.server else 80)])
    multi.setdefault("X-Amzn-Trace-Id", [f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"])
    return {name: values[-1] for name, values in multi.items()}, multi


def _query(request: Request) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not request.args:
        return None, None
    multi = {name: request.args.getlist(name) for name in request.args}
    return {name: values[-1] for name, values in multi.items()}, multi


def _body(raw: bytes) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def proxy_event(
    request: Request, route: Route, path_parameters: dict[str, str], request_id: str, account_id: str
) -> dict[str, Any]:
    """The REST API proxy event for this request, as the deployed function receives it."""
    now = datetime.now(tz=UTC)
    headers, multi_headers = _headers(request)
    query, multi_query = _query(request)
    body, is_base64 = _body(request.get_data(cache=False))
    host = request.host.split(":")[0]
    return {
        "resource": route.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account_id,
            "apiId": LOCAL_API_ID,
            "resourceId": secrets.token_hex(3),
            "resourcePath": route.resource,
            "httpMethod": request.method,
            "extendedRequestId": secrets.token_urlsafe(12),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "path": f"/{route.stage}{request.path}",
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "stage": route.stage,
            "domainName": request.host,
            "domainPrefix": host.split(".")[0],
            "requestId": request_id,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "apiKey": None,
                "apiKeyId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": request.remote_addr or "127.0.0.1",
                "user": None,
                "userAgent": request.user_agent.string or None,
                "userArn": None,
            },
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


class MalformedProxyResponse(ValueError):
    """The function's result is not a valid proxy response (API Gateway answers 502)."""


def _string_map(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedProxyResponse(f"{name} must be an object")
    return value


def http_response(result: Any, request_id: str) -> Response:
    """The HTTP response API Gateway makes of a proxy result: status, merged headers, body."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise MalformedProxyResponse("statusCode missing or not an integer")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResponse("body must be a string")
    payload = base64.b64decode(body) if body and result.get("isBase64Encoded") else (body or "").encode()
    headers = Headers()
    single = _string_map(result.get("headers"), "headers")
    multi = _string_map(result.get("multiValueHeaders"), "multiValueHeaders")
    for name, value in single.items():
        if name.lower() not in {key.lower() for key in multi}:
            headers.add(name, str(value))
    for name, values in multi.items():
        for value in values if isinstance(values, list) else [values]:
            headers.add(name, str(value))
    if "Content-Type" not in headers:
        headers["Content-Type"] = "application/json"
    headers["x-amzn-RequestId"] = request_id
    headers["x-amz-apigw-id"] = secrets.token_urlsafe(12)
    return Response(payload, status=result["statusCode"], headers=headers)


# API Gateway's own answers: response type -> (status, message) when the API does not customise them.
_GATEWAY_DEFAULTS = {
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLongException"),
    "INTEGRATION_FAILURE": (502, "Internal server error", "InternalServerErrorException"),
}


def _header_value(expression: str, request: Request, request_id: str) -> str | None:
    """A gateway response header mapping: 'literal', context.requestId, method.request.header.NAME."""
    if expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    if expression == "context.requestId":
        return request_id
    if expression.startswith("method.request.header."):
        return request.headers.get(expression.removeprefix("method.request.header."))
    return None


def gateway_error(
    response_type: str, request: Request, request_id: str, responses: dict[str, GatewayResponse]
) -> Response:
    """An answer of API Gateway itself (no function involved), customised by the API's GatewayResponses."""
    status, message, error_type = _GATEWAY_DEFAULTS[response_type]
    custom = responses.get(response_type) or responses.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX")
    body = json.dumps({"message": message})
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error_type}
    if custom is not None:
        status = custom.status or status
        template = custom.templates.get("application/json")
        if template is not None:
            body = (
                template.replace("$context.requestId", request_id)
                .replace("$context.error.messageString", json.dumps(message))
                .replace("$context.error.message", message)
                .replace("$context.error.responseType", response_type)
            )
        for name, expression in custom.headers.items():
            value = _header_value(expression, request, request_id)
            if value is not None:
                headers[name] = value
    return Response(body, status=status, headers=headers, content_type="application/json")


class ApiGateway:
    """The WSGI application: route, build the event, invoke, translate the answer."""

    def __init__(
        self, routes: RouteTable, invoke: Invoker, account_id: str, on_access: Callable[[str], None]
    ) -> None:
        self._routes = routes
        self._invoke = invoke
        self._account_id = account_id
        self._on_access = on_access

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        started = time.perf_counter()
        response = self.handle(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        target = request.full_path.rstrip("?")
        self._on_access(f"{request.method} {target} -> {response.status_code} ({elapsed_ms:.0f} ms)")
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        matched = self._routes.match(request.method, request.path)
        if matched is None:
            return gateway_error(
                "MISSING_AUTHENTICATION_TOKEN", request, request_id, self._routes.gateway_responses
            )
        route, parameters = matched
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return gateway_error("REQUEST_TOO_LARGE", request, request_id, route.gateway_responses)
        event = proxy_event(request, route, parameters, request_id, self._account_id)
        try:
            return http_response(self._invoke(route.function, event), request_id)
        except Exception as exc:  # a function error, timeout or malformed response: API Gateway's 502
            self._on_access(f"{route.function} failed: {exc}")
            return gateway_error("INTEGRATION_FAILURE", request, request_id, route.gateway_responses)
