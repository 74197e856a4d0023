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

Its transactions cost what they touch (`ingestctl.local.moto_transactions`), and an UpdateExpression is
parsed and shape-checked once, not on every call (`ingestctl.local.moto_update_expressions`). Likewise
SQS: moto's ReceiveMessage read the whole queue's attributes (three scans of every message) once per
message it returned, each message's visibility costing a datetime round trip: 0.9 s per receive with 500
messages queued, quadratic as a soak's backlog grows. `install_fast_sqs` keeps the semantics and drops
those costs (57 ms). `install_fast_dispatch` answers moto's per-request lookups of which service and
which action a request is for from memory.
Usage: `python -m ingestctl.local.serial_moto --host 127.0.0.1 --port 5000` (`--port 0`: any free port; the
first line printed names it), or `--fd N`: serve on a listening socket the parent bound (the local stack).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto import backends
from moto.core import responses as moto_responses
from moto.core.utils import method_names_from_class
from moto.core.utils import unix_time_millis as moto_unix_time_millis
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sqs import models as sqs_models
from werkzeug.serving import make_server

from ingestctl.local import moto_transactions, moto_update_expressions

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


def install_fast_dispatch() -> None:
    """Answer moto's two per-request lookups from memory: the names of moto's service packages (moto lists
    its package directory, a stat per service, under the dispatcher's lock that every request of every
    service takes) and a response class's action methods (moto inspects the class each time). Neither
    changes while the server runs. Measured: 40% of a GetQueueUrl's time in the server."""
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    moto_responses.method_names_from_class = functools.lru_cache(maxsize=None)(  # type: ignore[attr-defined]
        method_names_from_class
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--fd", type=int, default=None, help="a listening socket to serve on instead")
    args = parser.parse_args(argv)
    moto_transactions.install()
    moto_update_expressions.install()
    install_fast_sqs()
    install_fast_dispatch()
    app = serialise_dynamodb(DomainDispatcherApplication(create_backend_app))
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler, fd=args.fd
    )
    if args.fd is not None:
        os.close(args.fd)  # werkzeug serves on its own duplicate of it
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serial moto server on http://{host}:{server.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
