"""Every reply the API builds is the one docs/openapi.json documents: status, headers and body shape."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from session_ingest import limits
from session_ingest.domain.batch import ItemStatus
from session_ingest.domain.models import IngestWarning, RequestStatus, StoredOutcome
from session_ingest.domain.rate_limit import RateLimitState
from session_ingest.domain.session_fields import SESSION_FIELDS
from session_ingest.errors import (
    EndpointNotFound,
    EnqueueFailed,
    FieldError,
    IdempotencyConflict,
    IdempotencyInProgress,
    InvalidIdempotencyKey,
    InvalidListingQuery,
    MalformedJson,
    PayloadTooLarge,
    RateLimited,
    RequestNotFound,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
)
from session_ingest.service.batch_ingest import BatchAnswer, ItemResult
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
from session_ingest.service.ingest import AcceptedRequest, DryRun, OutcomeLookup, RequestListing
from session_ingest.service.match_preview import DryRunMatch
from tests.support.openapi_contract import (
    BATCH,
    DRY_RUN,
    INGEST,
    LISTING,
    OPERATIONS,
    OUTCOME,
    contract_problems,
    document,
    documented_statuses,
)

RATE = RateLimitState(limit=120, remaining=119, reset_seconds=55)
ACCEPTED_AT = datetime(2026, 6, 14, 23, 0, 0, 123456, tzinfo=UTC)


def _problems(operation: tuple[str, str], reply: ApiReply) -> list[str]:
    """As the handler sends it: the reply's headers plus X-Request-Id and the JSON content type."""
    import json

    headers = {"X-Request-Id": str(uuid.uuid4()), "Content-Type": "application/json", **reply.headers}
    return contract_problems(operation, reply.status, headers, json.dumps(reply.body).encode())


ERRORS = [
    (PayloadTooLarge(), (INGEST, DRY_RUN)),
    (UnsupportedMediaType(), (INGEST, DRY_RUN)),
    (Unauthenticated(), OPERATIONS),
    (EndpointNotFound(), OPERATIONS),
    (RequestNotFound(), (OUTCOME,)),
    (RateLimited(limit=120, reset_seconds=55), OPERATIONS),
    (MalformedJson("Expecting value at line 1 column 1"), (INGEST, DRY_RUN)),
    (InvalidIdempotencyKey("the key holds control characters"), (INGEST,)),
    (InvalidListingQuery("cursor", "this cursor belongs to another listing"), (LISTING,)),
    (ValidationFailed([FieldError("start_time", "not a time")]), (INGEST, DRY_RUN)),
    (IdempotencyConflict(), (INGEST,)),
    (IdempotencyInProgress(retry_after_seconds=1), (INGEST,)),
    (EnqueueFailed(), (INGEST,)),
    (RuntimeError("boom"), OPERATIONS),
]


@pytest.mark.parametrize(("error", "operations"), ERRORS, ids=[type(error).__name__ for error, _ in ERRORS])
def test_every_error_reply_is_documented_for_the_operations_that_give_it(
    error: Exception, operations: tuple[tuple[str, str], ...]
) -> None:
    # Given the reply the API makes of this error
    reply = error_reply(error)
    # When it is checked against each operation that can answer it
    # Then status, required headers and body all match the document
    for operation in operations:
        assert _problems(operation, reply) == [], operation


def test_an_unknown_route_reply_is_the_documented_not_found() -> None:
    # Given the handler's reply to a route it does not know
    reply = not_found_reply()
    # Then it is the documented 404 shape
    assert _problems(INGEST, reply) == []


def test_the_accepted_reply_is_documented() -> None:
    # Given a queued request's reply
    reply = accepted_reply(AcceptedRequest(str(uuid.uuid4()), RATE))
    # Then it is the documented 200 with the rate-limit headers
    assert _problems(INGEST, reply) == []


def test_the_dry_run_reply_is_documented() -> None:
    # Given a dry run's reply with a record, a warning and a match
    record = {"name": "Talk", "start_time": "2026-06-14T23:00:00Z", "categories": [7, 12], "active": True}
    warning = IngestWarning(code="unknown_field", field="colour", message="ignored")
    match = DryRunMatch(action="update", by="organisation_uid", resource_id="acme/session/3")
    reply = dry_run_reply(DryRun(record, [warning], match, RATE))
    # Then it is the documented 200
    assert _problems(DRY_RUN, reply) == []


def test_a_dry_run_record_with_a_key_the_document_lacks_is_caught() -> None:
    # Given a record holding a field the document does not describe
    match = DryRunMatch(action="create")
    reply = dry_run_reply(DryRun({"speakers": "x"}, [], match, RATE))
    # Then the contract check refuses it (so a new field cannot ship undocumented)
    assert any("speakers" in problem for problem in _problems(DRY_RUN, reply))


@pytest.mark.parametrize("status", list(RequestStatus))
def test_the_outcome_reply_is_documented(status: RequestStatus) -> None:
    # Given a request's outcome in each of its states
    processed = status is not RequestStatus.QUEUED
    outcome = StoredOutcome(
        request_id=str(uuid.uuid4()),
        endpoint_id=str(uuid.uuid4()),
        status=status,
        accepted_at=ACCEPTED_AT,
        processed_at=ACCEPTED_AT if processed else None,
        action="created" if status is RequestStatus.PROCESSED else None,
        resource_id="acme/session/1" if status is RequestStatus.PROCESSED else None,
        errors=["invalid"] if status is RequestStatus.FAILED else [],
    )
    reply = outcome_reply(OutcomeLookup(outcome, RATE))
    # Then it is the documented 200
    assert _problems(OUTCOME, reply) == []


def test_a_missing_required_header_is_caught() -> None:
    # Given an accepted reply that lost its rate-limit headers
    reply = accepted_reply(AcceptedRequest(str(uuid.uuid4()), RATE))
    stripped = ApiReply(reply.status, reply.body, {})
    # Then the contract check names the header
    assert "required header RateLimit-Limit is missing" in _problems(INGEST, stripped)


def test_every_status_of_the_spec_table_is_documented_for_the_ingest_call() -> None:
    # Given contract §4's table of POST statuses (5xx as 500 and 503)
    spec_statuses = {200, 400, 401, 404, 413, 415, 422, 429, 500, 503}
    # Then the document lists each of them
    assert spec_statuses <= documented_statuses(INGEST)


def test_the_documented_session_fields_are_exactly_the_mapped_fields() -> None:
    # Given the mapper's session fields
    fields = set(SESSION_FIELDS)
    # Then the request and the dry-run record documents describe exactly those
    schemas = document()["components"]["schemas"]
    assert set(schemas["SessionPayload"]["properties"]) == fields
    assert set(schemas["NormalisedSession"]["properties"]) == fields


@pytest.mark.parametrize("next_cursor", [None, "eyJ2IjoxfQ.AAAA"], ids=["last page", "more pages"])
def test_the_listing_reply_is_documented(next_cursor: str | None) -> None:
    # Given a page of two outcomes, one processed and one still queued
    processed = StoredOutcome(
        request_id=str(uuid.uuid4()),
        endpoint_id=str(uuid.uuid4()),
        status=RequestStatus.PROCESSED,
        accepted_at=ACCEPTED_AT,
        processed_at=ACCEPTED_AT,
        action="created",
        resource_id="acme/session/1",
        config_version=2,
    )
    queued = processed.model_copy(
        update={"request_id": str(uuid.uuid4()), "status": RequestStatus.QUEUED, "processed_at": None}
    )
    from session_ingest.service.request_outcomes import outcome_view

    document = {"requests": [outcome_view(processed), outcome_view(queued)], "next": next_cursor}
    # Then its reply is the documented 200 with the rate-limit headers
    assert _problems(LISTING, listing_reply(RequestListing(document, RATE))) == []


BATCH_ERRORS = [
    PayloadTooLarge(limits.MAX_BATCH_BODY_BYTES),
    UnsupportedMediaType(),
    Unauthenticated(),
    EndpointNotFound(),
    RateLimited(limit=120, reset_seconds=55),
    MalformedJson("Expecting value at line 1 column 1"),
    InvalidIdempotencyKey("the key holds control characters"),
    ValidationFailed([FieldError("items", "items must be an array of 1 to 100 payloads, not 0")]),
    IdempotencyConflict(),
    IdempotencyInProgress(retry_after_seconds=1),
    EnqueueFailed(),
    RuntimeError("boom"),
]


@pytest.mark.parametrize("error", BATCH_ERRORS, ids=[type(error).__name__ for error in BATCH_ERRORS])
def test_every_error_reply_of_the_batch_route_is_documented(error: Exception) -> None:
    # Given the reply the API makes of this error / Then the batch operation documents it
    assert _problems(BATCH, error_reply(error)) == []


QUEUED = ItemResult(0, ItemStatus.QUEUED, str(uuid.uuid4()))
INVALID = ItemResult(
    1, ItemStatus.INVALID, None, "validation_error", (FieldError("start_time", "not a time"),)
)
TOO_LARGE = ItemResult(2, ItemStatus.INVALID, None, "payload_too_large", (FieldError("$", "too large"),))
RETRY = ItemResult(3, ItemStatus.RETRY)


@pytest.mark.parametrize(
    ("results", "status"),
    [
        ([QUEUED], 200),
        ([QUEUED, INVALID, TOO_LARGE], 207),
        ([INVALID, TOO_LARGE], 422),
        ([QUEUED, INVALID, RETRY], 503),
        ([RETRY], 503),
    ],
    ids=["all queued", "some invalid", "none valid", "some to retry", "none taken"],
)
def test_every_batch_answer_is_documented(results: list[ItemResult], status: int) -> None:
    # Given a batch answer with these item results
    reply = batch_reply(BatchAnswer(results, RATE))
    # Then its status is the contract's, and status, headers and body are as documented
    assert reply.status == status
    assert _problems(BATCH, reply) == []


def test_every_status_of_the_batch_contract_is_documented() -> None:
    # Given contract §4b's statuses (with §4's errors) / Then the document lists each for the batch route
    assert {200, 207, 400, 401, 404, 413, 415, 422, 429, 500, 503} <= documented_statuses(BATCH)
