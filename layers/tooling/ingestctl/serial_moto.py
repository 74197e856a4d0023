"""A moto server whose DynamoDB calls are atomic, for concurrency tests, benchmarks and the local stack.

moto's server handles requests on threads, and its DynamoDB backend is not safe under them: a
TransactWriteItems checks its conditions and writes without a lock, and a cancelled transaction restores a
copy of the whole table taken when it started, erasing what other requests wrote meanwhile. Measured
here: 20 threads racing to create one organisation uid left 3 sessions. Real DynamoDB applies each call
atomically, so this server runs DynamoDB calls one at a time (other services, e.g. SQS long polls, stay
concurrent).

It also keeps DynamoDB's promise for TransactWriteItems' ClientRequestToken, which moto ignores: botocore
fills a token in and sends it unchanged on each retry, so a transaction that was applied but whose answer
was lost (a read timeout on a busy server) is answered success again instead of failing its own
conditions the second time (which the ingest API would report as a 503 with the request stored anyway).

And its transactions cost what they touch: moto deep-copies every table a TransactWriteItems names, to
roll back (1.8 s per transaction at 6,000 items, measured here), so a soak of thousands of requests
slowed down quadratically. With DynamoDB calls serialised, `journaled_transact_write_items` checks every
condition first, then writes, and rolls back only the items it wrote if a write fails. Likewise SQS: a
ReceiveMessage read the whole queue's attributes (three scans of every message) once per message it
returned, each message's visibility costing a datetime round trip: 0.9 s per receive with 500 messages
queued. `install_fast_sqs` keeps the semantics and drops those costs (57 ms).
Usage: `python -m ingestctl.serial_moto --host 127.0.0.1 --port 5000`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto.core.utils import unix_time_millis as moto_unix_time_millis
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sqs import models as sqs_models
from werkzeug.serving import run_simple

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

TRANSACT_WRITE_TARGET = "DynamoDB_20120810.TransactWriteItems"
CLIENT_REQUEST_TOKEN_SECONDS = 600.0  # DynamoDB's idempotency window for a token


@dataclass(frozen=True)
class _Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    request_sha256: str
    expires_at: float


class ClientRequestTokens:
    """Successful TransactWriteItems answers by ClientRequestToken, for DynamoDB's 10-minute window.

    A repeat with the same token and the same request gets the first answer and changes nothing; the
    same token with other parameters is DynamoDB's IdempotentParameterMismatchException. Not
    thread-safe on its own: used under the DynamoDB lock.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._answers: OrderedDict[str, _Answer] = OrderedDict()  # oldest first: expiry order

    def call(self, app: WsgiApp, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = _read_body(environ)
        token = _client_request_token(body)
        if token is None:
            return list(app(environ, start_response))
        now = self._clock()
        while self._answers and next(iter(self._answers.values())).expires_at <= now:
            self._answers.popitem(last=False)
        digest = hashlib.sha256(body).hexdigest()
        known = self._answers.get(token)
        if known is not None:
            if known.request_sha256 != digest:
                return _mismatch(start_response)
            start_response(known.status, known.headers)
            return [known.body]
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            captured[:] = [status, list(headers)]
            return start_response(status, headers, *args)

        answer = list(app(environ, capture))
        if captured and str(captured[0]).startswith("200"):
            expires_at = now + CLIENT_REQUEST_TOKEN_SECONDS
            self._answers[token] = _Answer(captured[0], captured[1], b"".join(answer), digest, expires_at)
        return answer


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, put back so the wrapped app can read it again."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _client_request_token(body: bytes) -> str | None:
    try:
        token = json.loads(body).get("ClientRequestToken")
    except (ValueError, AttributeError):
        return None
    return token if isinstance(token, str) and token else None


def _mismatch(start_response: Callable[..., Any]) -> list[bytes]:
    error = {
        "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
        "message": "The request uses the same client token as a previous, but non-identical request.",
    }
    start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
    return [json.dumps(error).encode()]


def serialise_dynamodb(app: WsgiApp, tokens: ClientRequestTokens | None = None) -> WsgiApp:
    """Wrap a WSGI app so DynamoDB requests (X-Amz-Target `DynamoDB_…`) run one at a time, and repeated
    TransactWriteItems tokens are answered as DynamoDB answers them."""
    lock = threading.Lock()
    tokens = tokens or ClientRequestTokens()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith("DynamoDB"):
            return app(environ, start_response)
        with lock:  # the whole response is built under the lock
            if target == TRANSACT_WRITE_TARGET:
                return tokens.call(app, environ, start_response)
            return list(app(environ, start_response))

    return application


MAX_TRANSACT_ITEMS = 100
_WRITES = frozenset({"Put", "Delete", "Update"})
_Reason = tuple[str | None, str | None, dict[str, Any] | None]  # moto's (code, message, old item)


@dataclass(frozen=True)
class _Operation:
    kind: str  # Put | Delete | Update | ConditionCheck
    spec: dict[str, Any]
    table_name: str
    key: dict[str, Any]


def _operation(backend: DynamoDBBackend, transact_item: dict[str, Any]) -> _Operation:
    if len(transact_item) != 1:
        raise TransactWriteSingleOpException
    kind, spec = next(iter(transact_item.items()))
    if kind not in _WRITES | {"ConditionCheck"}:
        raise MockValidationException(f"Unsupported transaction operation {kind}")
    table = backend.get_table(spec["TableName"])
    if kind == "Put":
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        key = {name: spec["Item"][name] for name in names}
    else:
        key = spec["Key"]
    return _Operation(kind, spec, spec["TableName"], key)


def _condition_failure(backend: DynamoDBBackend, operation: _Operation) -> _Reason | None:
    """moto's reason when the operation's condition is false on the current item, else None."""
    spec = operation.spec
    if spec.get("ConditionExpression") is None:
        return None
    current = backend.get_item(operation.table_name, operation.key)
    condition = get_filter_expression(
        spec["ConditionExpression"],
        spec.get("ExpressionAttributeNames"),
        spec.get("ExpressionAttributeValues"),
    )
    if condition.expr(current):
        return None
    old = None
    if spec.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
        old = current.to_json()["Attributes"]
    return ("ConditionalCheckFailed", ConditionalCheckFailed().message, old)


def _write(backend: DynamoDBBackend, operation: _Operation) -> None:
    spec, table_name = operation.spec, operation.table_name
    expression: dict[str, Any] = {
        "condition_expression": spec.get("ConditionExpression"),
        "expression_attribute_names": spec.get("ExpressionAttributeNames"),
        "expression_attribute_values": spec.get("ExpressionAttributeValues"),
    }
    if operation.kind == "Put":
        backend.put_item(table_name, spec["Item"], **expression)
    elif operation.kind == "Delete":
        backend.delete_item(table_name, operation.key, **expression)
    elif operation.kind == "Update":
        backend.update_item(
            table_name, operation.key, update_expression=spec["UpdateExpression"], **expression
        )


def journaled_transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems for a backend whose DynamoDB calls run one at a time: every condition is checked
    on the state before the transaction (items are distinct, so that is what DynamoDB sees), then every
    write is made; a write that fails anyway puts back the items written so far. Raises what moto raises:
    TransactionCanceledException with per-item reasons (and ALL_OLD items), or a validation error."""
    if len(transact_items) > MAX_TRANSACT_ITEMS:
        raise TooManyTransactionsException()
    operations = [_operation(backend, item) for item in transact_items]
    keys = [(op.table_name, json.dumps(op.key, sort_keys=True)) for op in operations]
    if len(set(keys)) != len(keys):
        raise MultipleTransactionsException()
    reasons: list[_Reason] = [_condition_failure(backend, op) or (None, None, None) for op in operations]
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    written: list[tuple[_Operation, dict[str, Any] | None]] = []
    for index, operation in enumerate(operations):
        if operation.kind not in _WRITES:
            continue
        before = backend.get_item(operation.table_name, operation.key)
        written.append((operation, before.to_json()["Attributes"] if before is not None else None))
        try:
            _write(backend, operation)
        except Exception as error:
            for done, image in reversed(written):
                if image is None:
                    backend.delete_item(done.table_name, done.key)
                else:
                    backend.put_item(done.table_name, image)
            if isinstance(error, MockValidationException):
                raise
            failed: list[_Reason] = [(None, None, None)] * len(operations)
            failed[index] = (type(error).__name__, str(error), None)
            raise TransactionCanceledException(failed) from error


def install_journaled_transactions() -> None:
    """Use `journaled_transact_write_items` for every DynamoDB backend of this process."""
    DynamoDBBackend.transact_write_items = journaled_transact_write_items  # type: ignore[method-assign,assignment]


def unix_time_millis(dt: Any = None) -> float:
    """moto's `unix_time_millis` (milliseconds since the epoch), without a datetime round trip for now."""
    return time.time() * 1000.0 if dt is None else float(moto_unix_time_millis(dt))


def is_message_valid_based_on_retention_period(
    backend: sqs_models.SQSBackend, queue_name: str, message: sqs_models.Message
) -> bool:
    """moto's check, reading the queue's retention period instead of computing all its attributes."""
    queue = backend.get_queue(queue_name)
    retention_period = int(queue.message_retention_period)  # type: ignore[attr-defined]
    sent_at = float(message.sent_timestamp or 0) / 1000
    return retention_period + sent_at > time.time()


def install_fast_sqs() -> None:
    """Use the cheaper visibility clock and retention check for every SQS backend of this process."""
    sqs_models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period  # type: ignore[assignment]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    install_journaled_transactions()
    install_fast_sqs()
    app = serialise_dynamodb(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
