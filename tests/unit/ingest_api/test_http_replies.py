"""Every failure's status, body and headers, decided in one place (contract §4)."""

from __future__ import annotations

from typing import Any

import pytest

from session_ingest.errors import (
    EndpointNotFound,
    EnqueueFailed,
    FieldError,
    IdempotencyConflict,
    IdempotencyInProgress,
    InvalidIdempotencyKey,
    MalformedJson,
    PayloadTooLarge,
    RateLimited,
    RequestNotFound,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
)
from session_ingest.service.http_replies import error_reply

VALIDATION = "The provided payload is not in the correct format for this endpoint"


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (
            MalformedJson("Expecting value at line 1 column 1"),
            400,
            {"message": "Invalid", "success": False, "error_type": "malformed_json",
             "errors": "Expecting value at line 1 column 1"},
        ),
        (Unauthenticated(), 401,
         {"message": "Unauthenticated", "success": False, "error_type": "authentication_error"}),
        (EndpointNotFound(), 404, {"message": "Not Found", "success": False, "error_type": "not_found"}),
        (RequestNotFound(), 404, {"message": "Not Found", "success": False, "error_type": "not_found"}),
        (
            ValidationFailed([FieldError("start_time", "not a time")]),
            422,
            {"message": "Invalid", "success": False, "error_type": "validation_error", "errors": VALIDATION,
             "details": [{"field": "start_time", "message": "not a time"}]},
        ),
        (RateLimited(limit=120, reset_seconds=17), 429,
         {"message": "Too Many Requests", "success": False, "error_type": "rate_limited"}),
    ],
)  # fmt: skip
def test_spec_table_rows_have_their_exact_bodies(error: Exception, status: int, body: dict[str, Any]) -> None:
    reply = error_reply(error)
    assert (reply.status, reply.body) == (status, body)


@pytest.mark.parametrize(
    ("error", "status", "error_type"),
    [
        (PayloadTooLarge(), 413, "payload_too_large"),
        (UnsupportedMediaType(), 415, "unsupported_media_type"),
        (InvalidIdempotencyKey("too long"), 400, "invalid_idempotency_key"),
        (IdempotencyConflict(), 422, "idempotency_conflict"),
        (IdempotencyInProgress(retry_after_seconds=1), 409, "idempotency_in_progress"),
        (EnqueueFailed(), 503, "service_unavailable"),
        (RuntimeError("bug"), 500, "internal_error"),
    ],
)
def test_other_failures_follow_the_same_shape(error: Exception, status: int, error_type: str) -> None:
    reply = error_reply(error)
    assert reply.status == status
    assert reply.body["success"] is False
    assert reply.body["error_type"] == error_type
    assert isinstance(reply.body["message"], str)


def test_429_says_when_to_retry_and_reports_the_limit() -> None:
    reply = error_reply(RateLimited(limit=120, reset_seconds=17))
    assert reply.headers == {
        "Retry-After": "17",
        "RateLimit-Limit": "120",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "17",
    }


@pytest.mark.parametrize("error", [EnqueueFailed(), RuntimeError("bug")])
def test_server_failures_tell_the_client_to_retry(error: Exception) -> None:
    assert "retry" in error_reply(error).body["errors"]


def test_a_401_names_the_bearer_scheme() -> None:
    assert error_reply(Unauthenticated()).headers == {"WWW-Authenticate": "Bearer"}
