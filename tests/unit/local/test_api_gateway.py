"""API Gateway emulation rules, without a server: routing, proxy events, proxy responses."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from ingestctl.local.api_gateway import (
    MalformedProxyResponse,
    RouteTable,
    compile_route,
    gateway_error,
    http_response,
    proxy_event,
)
from ingestctl.local.functions import ApiRoute, GatewayResponse

ROUTES = RouteTable(
    [
        compile_route("Api", ApiRoute("/api/webhook/ingest/{endpoint_id}", "POST", "Prod")),
        compile_route("Api", ApiRoute("/api/webhook/ingest/{endpoint_id}/test", "POST", "Prod")),
        compile_route(
            "Api", ApiRoute("/api/webhook/ingest/{endpoint_id}/requests/{request_id}", "GET", "Prod")
        ),
        compile_route("Other", ApiRoute("/api/webhook/ingest/health/test", "POST", "Prod")),
        compile_route("Files", ApiRoute("/files/{key+}", "ANY", "Prod")),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "resource", "parameters"),
    [
        ("POST", "/api/webhook/ingest/e1", "/api/webhook/ingest/{endpoint_id}", {"endpoint_id": "e1"}),
        ("POST", "/api/webhook/ingest/e1/", "/api/webhook/ingest/{endpoint_id}", {"endpoint_id": "e1"}),
        (
            "POST",
            "/api/webhook/ingest/e1/test",
            "/api/webhook/ingest/{endpoint_id}/test",
            {"endpoint_id": "e1"},
        ),
        ("POST", "/api/webhook/ingest/health/test", "/api/webhook/ingest/health/test", {}),
        (
            "GET",
            "/api/webhook/ingest/e1/requests/r9",
            "/api/webhook/ingest/{endpoint_id}/requests/{request_id}",
            {"endpoint_id": "e1", "request_id": "r9"},
        ),
        ("PUT", "/files/a/b", "/files/{key+}", {"key": "a/b"}),
        ("GET", "/api/webhook/ingest/e1", None, None),
        ("POST", "/api/webhook/ingest", None, None),
        ("POST", "/api/webhook/ingest/e1/requests/r9", None, None),
    ],
)
def test_routes_match_like_api_gateway(
    method: str, path: str, resource: str | None, parameters: dict[str, str] | None
) -> None:
    # Given the routes of the template's Api events
    # When a method and path are matched
    matched = ROUTES.match(method, path)
    # Then the most specific resource with that method is chosen, or none
    if resource is None:
        assert matched is None
    else:
        assert matched is not None
        assert (matched[0].resource, matched[1]) == (resource, parameters)


def test_a_request_without_body_or_query_has_nulls_like_api_gateway() -> None:
    # Given a GET without body or query string
    request = Request(EnvironBuilder(method="GET", path="/api/webhook/ingest/e1/requests/r9").get_environ())
    route, parameters = ROUTES.match("GET", request.path) or pytest.fail("no route")
    # When its proxy event is built
    event = proxy_event(request, route, parameters, "req-1", "123456789012")
    # Then body and query string parameters are null, not empty
    assert event["body"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["requestContext"]["requestId"] == "req-1"
    assert (
        event["requestContext"]["resourcePath"] == "/api/webhook/ingest/{endpoint_id}/requests/{request_id}"
    )
    assert event["requestContext"]["path"] == "/Prod/api/webhook/ingest/e1/requests/r9"


def test_multi_value_headers_replace_single_headers_of_the_same_name() -> None:
    # Given a proxy result with a header in both maps
    result = {
        "statusCode": 429,
        "headers": {"Retry-After": "30", "Set-Cookie": "x=0"},
        "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
        "body": "{}",
    }
    # When API Gateway turns it into a response
    response = http_response(result, "req-1")
    # Then the multi-value entry wins, the others stay, and the request id is added
    assert response.status_code == 429
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["Retry-After"] == "30"
    assert response.headers["x-amzn-RequestId"] == "req-1"
    assert response.headers["Content-Type"] == "application/json"


def test_a_base64_encoded_result_body_is_decoded() -> None:
    # Given a binary proxy result
    result = {"statusCode": 200, "body": "AAEC", "isBase64Encoded": True, "headers": {"Content-Type": "x/y"}}
    # When it is turned into a response
    response = http_response(result, "req-1")
    # Then the client receives the bytes
    assert response.get_data() == b"\x00\x01\x02"


@pytest.mark.parametrize(
    "result",
    [
        None,
        {},
        {"statusCode": "200"},
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": 200, "headers": []},
    ],
    ids=["none", "empty", "string status", "object body", "list headers"],
)
def test_a_malformed_proxy_result_is_rejected(result: object) -> None:
    # Given a result that is not a proxy response
    # When it is turned into a response
    # Then it is rejected (API Gateway answers 502)
    with pytest.raises(MalformedProxyResponse):
        http_response(result, "req-1")


def test_an_apis_gateway_responses_customise_its_own_answers() -> None:
    # Given an API whose MISSING_AUTHENTICATION_TOKEN answer is a 404 with the request id in a header
    responses = {
        "MISSING_AUTHENTICATION_TOKEN": GatewayResponse(
            status=404,
            headers={"X-Request-Id": "context.requestId", "Retry-After": "'1'"},
            templates={"application/json": '{"message": "Not Found", "error_type": "not_found"}'},
        )
    }
    request = Request(EnvironBuilder(method="GET", path="/nowhere").get_environ())
    # When API Gateway answers an unknown route itself
    response = gateway_error("MISSING_AUTHENTICATION_TOKEN", request, "req-1", responses)
    # Then the customised status, headers and body are used
    assert response.status_code == 404
    assert response.headers["X-Request-Id"] == "req-1"
    assert response.headers["Retry-After"] == "1"
    assert response.get_json() == {"message": "Not Found", "error_type": "not_found"}


def test_a_function_error_uses_the_default_5xx_response_when_customised() -> None:
    # Given an API with a DEFAULT_5XX template and no INTEGRATION_FAILURE one
    template = {"application/json": '{"id": "$context.requestId"}'}
    responses = {"DEFAULT_5XX": GatewayResponse(None, {}, template)}
    request = Request(EnvironBuilder(method="POST", path="/x").get_environ())
    # When a function fails
    response = gateway_error("INTEGRATION_FAILURE", request, "req-9", responses)
    # Then the status stays 502 and the body is the template's
    assert response.status_code == 502
    assert response.get_json() == {"id": "req-9"}
