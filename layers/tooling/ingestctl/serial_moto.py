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

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    app = serialise_dynamodb(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
