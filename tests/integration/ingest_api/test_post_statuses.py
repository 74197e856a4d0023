"""Every row of contract §4's table for `POST /api/webhook/ingest/{endpoint_id}`, through the real handler."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from ingestctl.admin.endpoints import CreatedEndpoint, create_endpoint, set_endpoint_enabled
from ingestctl.local.template import CreatedResources
from session_ingest import limits
from session_ingest.domain.rate_limit import RateWindow
from tests.fixtures import reference_session_payload
from tests.integration.ingest_api.conftest import START, QueueReader, requests_table_items
from tests.support.ingest_api import ApiClient, FakeClock

VALIDATION_MESSAGE = "The provided payload is not in the correct format for this endpoint"


def test_a_valid_payload_is_stored_queued_and_answered_with_its_request_id(
    api: ApiClient, aws: CreatedResources, queue: QueueReader
) -> None:
    # Given the reference payload
    payload = reference_session_payload()
    # When it is posted
    result = api.post(payload)
    # Then the answer is 200 with a request id, which is also the response's X-Request-Id
    assert result.status == 200
    assert result.body == {"success": True, "request_id": result.body["request_id"]}
    request_id = result.body["request_id"]
    assert str(uuid.UUID(request_id)) == request_id
    assert result.headers["X-Request-Id"] == request_id
    # And the request item is stored as queued
    item = requests_table_items(aws)[f"REQUEST#{request_id}"]
    assert item["status"] == {"S": "queued"}
    assert item["endpoint_id"] == {"S": api.endpoint_id}
    assert item["accepted_at"] == {"S": "2026-06-14T12:00:05.000000Z"}
    # And exactly one envelope is queued, carrying the normalised record (version 2: not the raw
    # payload as well, which the consumer never read and which could make the message outgrow SQS)
    messages = queue.drain()
    assert len(messages) == 1
    assert messages[0]["MessageAttributes"]["request_id"]["StringValue"] == request_id
    envelope = json.loads(messages[0]["Body"])
    assert envelope["request_id"] == request_id
    assert envelope["endpoint_id"] == api.endpoint_id
    assert envelope["organisation"] == "acme"
    assert (envelope["event_id"], envelope["endpoint_type"]) == (42, "session")
    assert (envelope["schema_version"], envelope.get("payload")) == (2, None)
    assert envelope["record"]["start_time"] == "2026-06-14T23:00:00Z"


def test_an_accepted_request_carries_the_rate_limit_headers(api: ApiClient) -> None:
    # Given an endpoint with the default limit and no request yet in this window
    # When one payload is accepted
    result = api.post(reference_session_payload())
    # Then the headers report the limit, what is left and when the window resets
    assert result.status == 200
    assert result.headers["RateLimit-Limit"] == str(limits.DEFAULT_RATE_LIMIT_PER_MINUTE)
    assert result.headers["RateLimit-Remaining"] == str(limits.DEFAULT_RATE_LIMIT_PER_MINUTE - 1)
    assert result.headers["RateLimit-Reset"] == "55"


@pytest.mark.parametrize(
    ("body", "reason_fragment"),
    [
        pytest.param("{not json", "Expecting property name", id="syntax"),
        pytest.param("", "empty", id="empty"),
        pytest.param('{"session": {"name": "a", "name": "b"}}', "duplicate", id="duplicate-keys"),
        pytest.param('{"session": {"sort_order": NaN}}', "NaN", id="nan"),
        pytest.param('{"session": {"sort_order": Infinity}}', "Infinity", id="infinity"),
        pytest.param("[" * 10_000 + "]" * 10_000, "nests deeper", id="nesting-bomb"),
    ],
)
def test_a_body_that_is_not_strict_json_is_a_400(
    api: ApiClient, queue: QueueReader, body: str, reason_fragment: str
) -> None:
    # Given a body that is not acceptable JSON
    # When it is posted
    result = api.post(body)
    # Then the answer is 400 malformed_json with a reason, and nothing is queued
    assert result.status == 400
    assert set(result.body) == {"message", "success", "error_type", "errors"}
    assert result.body["message"] == "Invalid"
    assert result.body["success"] is False
    assert result.body["error_type"] == "malformed_json"
    assert reason_fragment.lower() in result.body["errors"].lower()
    assert queue.drain() == []


def test_a_body_that_is_not_utf8_is_a_400(api: ApiClient) -> None:
    # Given a base64-encoded body holding Latin-1 bytes
    # When it is posted
    result = api.post('{"session": {"name": "Caf\u00e9"}}'.encode("latin-1"), base64_encoded=True)
    # Then it is malformed JSON
    assert (result.status, result.error_type) == (400, "malformed_json")


UNAUTHENTICATED = {"message": "Unauthenticated", "success": False, "error_type": "authentication_error"}


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("Basic dXNlcjpwYXNz", id="not-bearer"),
        pytest.param("Bearer", id="bearer-without-token"),
        pytest.param("Bearer not-a-token", id="malformed"),
        pytest.param(f"Bearer sit_{'5' * 32}_{'A' * 43}", id="unknown"),
    ],
)
def test_a_missing_malformed_or_unknown_token_is_a_401(
    api: ApiClient, queue: QueueReader, authorization: str | None
) -> None:
    # Given a request without a usable bearer token
    headers = {"Authorization": authorization} if authorization is not None else {}
    # When it is posted
    result = api.post(reference_session_payload(), token=None, headers=headers)
    # Then the answer is exactly the contract's 401 body, and nothing is queued
    assert result.status == 401
    assert result.body == UNAUTHENTICATED
    assert result.headers["WWW-Authenticate"] == "Bearer"
    assert queue.drain() == []


def test_a_wrong_secret_for_a_known_token_id_is_a_401(api: ApiClient) -> None:
    # Given the endpoint's token with its secret altered
    prefix, token_id, secret = api.token.split("_", 2)
    forged = f"{prefix}_{token_id}_{'B' * len(secret)}"
    # When it is posted
    result = api.post(reference_session_payload(), token=forged)
    # Then it is unauthenticated
    assert (result.status, result.body) == (401, UNAUTHENTICATED)


def test_another_endpoints_token_is_a_401(api: ApiClient, endpoint: CreatedEndpoint) -> None:
    # Given a second endpoint with its own token
    other = create_endpoint("acme", 43)
    # When the first endpoint is called with the second endpoint's token
    result = api.post(reference_session_payload(), token=other["token"])
    # Then the token does not open it
    assert (result.status, result.body) == (401, UNAUTHENTICATED)


@pytest.mark.parametrize("endpoint_id", ["0b7d5c1e-3f7a-4c55-9a8e-2f1d6c4b9e10", "not-a-uuid"])
def test_an_unknown_endpoint_is_a_401_so_existence_is_not_revealed(api: ApiClient, endpoint_id: str) -> None:
    # Given an endpoint id that does not exist
    # When it is called with a well-formed token (of another endpoint)
    result = api.post(reference_session_payload(), endpoint_id=endpoint_id)
    # Then the answer is 401, exactly as for an existing endpoint and a wrong token
    assert (result.status, result.body) == (401, UNAUTHENTICATED)


def test_a_disabled_endpoint_is_a_404_for_a_valid_token(
    api: ApiClient, clock: FakeClock, queue: QueueReader
) -> None:
    # Given the endpoint is disabled, and the API's cached copy has expired
    set_endpoint_enabled(api.endpoint_id, enabled=False)
    clock.advance(limits.CONFIG_CACHE_SECONDS)
    # When a valid payload is posted with a valid token
    result = api.post(reference_session_payload())
    # Then the answer is the contract's 404, and nothing is queued
    assert result.status == 404
    assert result.body == {"message": "Not Found", "success": False, "error_type": "not_found"}
    assert queue.drain() == []


def test_a_disabled_endpoint_still_answers_401_to_a_bad_token(api: ApiClient) -> None:
    # Given a disabled endpoint
    set_endpoint_enabled(api.endpoint_id, enabled=False)
    # When it is called with a bad token
    result = api.post(reference_session_payload(), token=f"sit_{uuid.uuid4().hex}_{'A' * 43}")
    # Then the token check comes first
    assert result.status == 401


def test_a_body_over_256_kib_is_a_413(api: ApiClient, queue: QueueReader) -> None:
    # Given a body one byte over the limit
    body = json.dumps({"session": {"name": "x", "description": ""}})
    body = body.replace('""', '"' + "d" * (limits.MAX_BODY_BYTES + 1 - len(body)) + '"')
    assert len(body.encode()) == limits.MAX_BODY_BYTES + 1
    # When it is posted
    result = api.post(body)
    # Then the answer is 413 payload_too_large, and nothing is queued
    assert result.status == 413
    assert result.body["error_type"] == "payload_too_large"
    assert (result.body["message"], result.body["success"]) == ("Payload Too Large", False)
    assert queue.drain() == []


def test_a_base64_encoded_body_over_256_kib_is_a_413(api: ApiClient) -> None:
    # Given a binary-passthrough body of 256 KiB + 1 bytes
    body = b"{" + b" " * (limits.MAX_BODY_BYTES - 1) + b"}"
    # When it is posted base64-encoded
    result = api.post(body, base64_encoded=True)
    # Then its decoded size counts
    assert (result.status, result.error_type) == (413, "payload_too_large")


def test_a_body_of_exactly_256_kib_passes_the_size_check(api: ApiClient) -> None:
    # Given a valid payload padded with whitespace to exactly the limit
    text = json.dumps(reference_session_payload())
    body = text + " " * (limits.MAX_BODY_BYTES - len(text.encode()))
    # When it is posted
    result = api.post(body)
    # Then it is accepted
    assert result.status == 200


def test_multibyte_characters_count_as_bytes_not_characters(api: ApiClient) -> None:
    # Given a body under the limit in characters but over it in UTF-8 bytes
    description = "é" * (limits.MAX_BODY_BYTES // 2)
    # When it is posted
    result = api.post({"session": {"name": "x", "description": description}})
    # Then it is too large
    assert result.status == 413


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", "json"],
)
def test_a_body_that_is_not_declared_json_is_a_415(api: ApiClient, content_type: str | None) -> None:
    # Given a request whose Content-Type is not JSON
    # When it is posted
    result = api.post(reference_session_payload(), content_type=content_type)
    # Then the answer is 415 unsupported_media_type
    assert result.status == 415
    assert result.body["error_type"] == "unsupported_media_type"
    assert (result.body["message"], result.body["success"]) == ("Unsupported Media Type", False)


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON; charset=UTF-8", "application/vnd.acme+json"]
)
def test_json_media_types_are_accepted(api: ApiClient, content_type: str) -> None:
    # Given a JSON media type, with or without a UTF-8 charset
    # When a valid payload is posted
    result = api.post(reference_session_payload(), content_type=content_type)
    # Then it is accepted
    assert result.status == 200


def test_an_invalid_field_is_a_422_with_details(api: ApiClient, queue: QueueReader) -> None:
    # Given a payload whose start time is not a time
    payload = reference_session_payload()
    payload["session"]["start_time"] = "next tuesday"
    # When it is posted
    result = api.post(payload)
    # Then the answer is the contract's 422 naming the field, and nothing is queued
    assert result.status == 422
    assert result.body["message"] == "Invalid"
    assert result.body["success"] is False
    assert result.body["error_type"] == "validation_error"
    assert result.body["errors"] == VALIDATION_MESSAGE
    assert [detail["field"] for detail in result.body["details"]] == ["start_time"]
    assert result.body["details"][0]["message"]
    assert queue.drain() == []


UNSAFE_PROMO_LOGOS = [
    "javascript:alert(1)",
    "data:image/svg+xml,<svg/onload=alert(1)>",
    '"><img/src=x/onerror=alert(1)>',
]


@pytest.mark.parametrize("logo", UNSAFE_PROMO_LOGOS)
def test_a_promo_logo_that_is_not_an_image_url_is_a_422_naming_it(
    api: ApiClient, queue: QueueReader, logo: str
) -> None:
    # Given a payload whose promo logo is a script, an SVG data URL or markup (issue 12 finding 4)
    payload = reference_session_payload()
    payload["session"]["eventapp_promo_logo"] = logo
    # When it is posted
    result = api.post(payload)
    # Then it is refused with a details entry for the logo, and nothing is queued
    assert (result.status, result.body["error_type"]) == (422, "validation_error")
    assert [detail["field"] for detail in result.body["details"]] == ["eventapp_promo_logo"]
    assert queue.drain() == []


def test_a_payload_that_is_not_an_object_is_a_422(api: ApiClient) -> None:
    # Given a JSON array
    # When it is posted
    result = api.post([1, 2, 3])
    # Then it fails validation
    assert (result.status, result.error_type) == (422, "validation_error")


def test_a_payload_breaking_the_endpoints_json_schema_is_a_422(deps: Any, queue: QueueReader) -> None:
    # Given an endpoint whose JSON Schema requires session.code as a string of 3+ characters
    schema = {
        "type": "object",
        "required": ["session"],
        "properties": {
            "session": {
                "type": "object",
                "required": ["code"],
                "properties": {"code": {"type": "string", "minLength": 3}},
            }
        },
    }
    created = create_endpoint("acme", 42, json_schema=schema)
    api = ApiClient(created["endpoint_id"], created["token"])
    # When a payload with a too-short code is posted
    result = api.post({"session": {"name": "Keynote", "code": "K1"}})
    # Then the schema error is reported with its JSON path
    assert (result.status, result.error_type) == (422, "validation_error")
    assert result.body["details"][0]["field"] == "session.code"
    assert queue.drain() == []
    # And a payload satisfying the schema is accepted
    assert api.post({"session": {"name": "Keynote", "code": "K100"}}).status == 200


def test_over_the_rate_limit_is_a_429_with_retry_after(deps: Any, queue: QueueReader) -> None:
    # Given an endpoint limited to 2 requests a minute, used twice in this window
    created = create_endpoint("acme", 42, rate_limit_per_minute=2)
    api = ApiClient(created["endpoint_id"], created["token"])
    assert [api.post(reference_session_payload()).status for _ in range(2)] == [200, 200]
    # When a third request arrives in the same window
    result = api.post(reference_session_payload())
    # Then it is refused with 429, told when to retry, and not queued
    assert result.status == 429
    assert result.body == {"message": "Too Many Requests", "success": False, "error_type": "rate_limited"}
    assert result.headers["Retry-After"] == "55"
    assert result.headers["RateLimit-Limit"] == "2"
    assert result.headers["RateLimit-Remaining"] == "0"
    assert result.headers["RateLimit-Reset"] == "55"
    assert len(queue.drain()) == 2


def test_the_limit_applies_again_in_the_next_window(deps: Any, clock: Any) -> None:
    # Given an endpoint limited to 1 request a minute, exhausted in this window
    created = create_endpoint("acme", 42, rate_limit_per_minute=1)
    api = ApiClient(created["endpoint_id"], created["token"])
    assert [api.post(reference_session_payload()).status for _ in range(2)] == [200, 429]
    # When the window has passed
    clock.advance(55)
    # Then a request is accepted again
    assert api.post(reference_session_payload()).status == 200


def test_rejected_requests_count_against_the_limit(deps: Any, aws: CreatedResources) -> None:
    # Given an endpoint limited to 2 requests a minute
    created = create_endpoint("acme", 42, rate_limit_per_minute=2)
    api = ApiClient(created["endpoint_id"], created["token"])
    # When two malformed bodies and then a valid one are posted
    statuses = [api.post("{").status, api.post("{").status, api.post(reference_session_payload()).status]
    # Then the malformed ones spent the window and the valid one is refused
    assert statuses == [400, 400, 429]
    window = RateWindow.containing(created["endpoint_id"], 2, START.timestamp())
    counter = requests_table_items(aws)[f"RATE#{created['endpoint_id']}#{window.start}"]
    assert counter["request_count"] == {"N": "2"}


def test_over_the_limit_a_malformed_body_gets_429_not_400(deps: Any) -> None:
    # Given an endpoint limited to 1 request a minute, already used
    created = create_endpoint("acme", 42, rate_limit_per_minute=1)
    api = ApiClient(created["endpoint_id"], created["token"])
    assert api.post(reference_session_payload()).status == 200
    # When a malformed body and an invalid payload follow
    # Then both meet the rate limit first, as the documented order of checks says
    assert api.post("{").status == 429
    assert api.post({"session": {"start_time": "never"}}).status == 429


def test_another_instance_learns_the_window_is_full_from_the_store(deps: Any, clock: Any) -> None:
    # Given an endpoint limited to 1 request a minute, used once by another Lambda instance
    created = create_endpoint("acme", 42, rate_limit_per_minute=1)
    api = ApiClient(created["endpoint_id"], created["token"])
    assert api.post(reference_session_payload()).status == 200
    deps.known_counts.__init__()  # this instance forgets what it counted, as a fresh instance would
    # When this instance receives a request in the same window
    result = api.post(reference_session_payload())
    # Then the shared counter refuses it
    assert (result.status, result.headers["RateLimit-Remaining"]) == (429, "0")


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        pytest.param({"body_bytes": limits.MAX_BODY_BYTES + 1}, {"token": None}, 413, id="size-before-token"),
        pytest.param({"content_type": "text/plain"}, {"token": None}, 415, id="media-type-before-token"),
        pytest.param({"body": "{"}, {"token": None}, 401, id="token-before-json"),
    ],
)
def test_checks_run_in_the_documented_order(
    api: ApiClient, first: dict[str, Any], second: dict[str, Any], expected: int
) -> None:
    # Given a request failing two checks at once
    options: dict[str, Any] = {**first, **second}
    body: Any = options.pop("body", reference_session_payload())
    if "body_bytes" in options:
        body = "{" + " " * (options.pop("body_bytes") - 2) + "}"
    # When it is posted
    result = api.post(body, **options)
    # Then the earlier check decides
    assert result.status == expected


def test_every_response_carries_x_request_id(api: ApiClient) -> None:
    # Given requests ending in success and in several failures
    results = [
        api.post(reference_session_payload()),
        api.post("{"),
        api.post(reference_session_payload(), token=None),
        api.post(reference_session_payload(), content_type="text/plain"),
        api.get_outcome(str(uuid.uuid4())),
    ]
    # Then each names its own request id
    ids = [result.headers["X-Request-Id"] for result in results]
    assert all(str(uuid.UUID(value)) == value for value in ids)
    assert len(set(ids)) == len(ids)


def test_an_unknown_route_is_a_404_in_the_api_shape(api: ApiClient) -> None:
    # Given a GET on the ingest path (only POST exists there)
    result = api.get_outcome("x", endpoint_id=f"{api.endpoint_id}/nothing")
    # Then the answer is the API's 404 body
    assert result.status == 404
    assert result.body["error_type"] == "not_found"
    assert "X-Request-Id" in result.headers
