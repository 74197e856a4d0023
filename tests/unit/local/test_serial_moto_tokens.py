"""serial_moto keeps DynamoDB's ClientRequestToken promise for TransactWriteItems (moto ignores it)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from ingestctl.local.serial_moto import (
    CLIENT_REQUEST_TOKEN_SECONDS,
    TRANSACT_WRITE_TARGET,
    ClientRequestTokens,
    serialise_dynamodb,
)


class CountingApp:
    """A stand-in for moto: answers each call with the next status, counting what it applied."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)
        self.calls: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.calls.append(body)
        status = self.statuses.pop(0) if self.statuses else "200 OK"
        start_response(status, [("Content-Type", "application/x-amz-json-1.0")])
        return [json.dumps({"call": len(self.calls)}).encode()]


def _environ(body: dict[str, Any], target: str = TRANSACT_WRITE_TARGET) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    return {"HTTP_X_AMZ_TARGET": target, "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}


def _call(app: Any, body: dict[str, Any], target: str = TRANSACT_WRITE_TARGET) -> tuple[str, bytes]:
    answered: list[str] = []
    chunks = app(_environ(body, target), lambda status, headers, *rest: answered.append(status))
    return answered[0], b"".join(chunks)


TRANSACTION = {"TransactItems": [{"Put": {"TableName": "T", "Item": {"pk": {"S": "a"}}}}]}


def test_a_retried_transaction_with_the_same_token_is_answered_without_applying_it_again() -> None:
    # Given a transaction that moto applied
    moto = CountingApp()
    app = serialise_dynamodb(moto)
    first = _call(app, {**TRANSACTION, "ClientRequestToken": "t-1"})
    # When botocore retries it with the same token (its answer was lost)
    second = _call(app, {**TRANSACTION, "ClientRequestToken": "t-1"})
    # Then the first answer comes back and moto applied it once
    assert second == first == ("200 OK", b'{"call": 1}')
    assert len(moto.calls) == 1


def test_the_same_token_with_other_parameters_is_an_idempotent_parameter_mismatch() -> None:
    # Given a transaction applied under a token
    moto = CountingApp()
    app = serialise_dynamodb(moto)
    _call(app, {**TRANSACTION, "ClientRequestToken": "t-1"})
    # When another transaction reuses the token
    status, body = _call(app, {"TransactItems": [], "ClientRequestToken": "t-1"})
    # Then DynamoDB's error answers it and nothing is applied
    assert status.startswith("400")
    assert json.loads(body)["__type"].endswith("#IdempotentParameterMismatchException")
    assert len(moto.calls) == 1


@pytest.mark.parametrize(
    ("first_status", "body"),
    [
        ("400 Bad Request", {**TRANSACTION, "ClientRequestToken": "t-1"}),  # a cancelled transaction
        ("200 OK", TRANSACTION),  # no token at all
    ],
    ids=["failed-first-call", "no-token"],
)
def test_only_successful_calls_with_a_token_are_remembered(first_status: str, body: dict[str, Any]) -> None:
    # Given a first call that is not a success under a token
    moto = CountingApp(first_status)
    app = serialise_dynamodb(moto)
    _call(app, body)
    # When the same call comes again
    status, _ = _call(app, body)
    # Then moto handles it again
    assert status == "200 OK"
    assert len(moto.calls) == 2


def test_a_token_is_forgotten_after_dynamodbs_ten_minute_window() -> None:
    # Given a transaction applied under a token
    now = [0.0]
    moto = CountingApp()
    app = serialise_dynamodb(moto, ClientRequestTokens(clock=lambda: now[0]))
    _call(app, {**TRANSACTION, "ClientRequestToken": "t-1"})
    # When the token comes back after the window
    now[0] = CLIENT_REQUEST_TOKEN_SECONDS + 1
    _call(app, {**TRANSACTION, "ClientRequestToken": "t-1"})
    # Then it is a new request
    assert len(moto.calls) == 2


def test_other_dynamodb_calls_pass_through_with_their_body_intact() -> None:
    # Given a DynamoDB call other than TransactWriteItems, carrying a token-like field
    moto = CountingApp()
    app = serialise_dynamodb(moto)
    body = {"TableName": "T", "ClientRequestToken": "t-1"}
    # When it is sent twice
    _call(app, body, target="DynamoDB_20120810.PutItem")
    _call(app, body, target="DynamoDB_20120810.PutItem")
    # Then moto sees both, unchanged
    assert moto.calls == [json.dumps(body).encode()] * 2
