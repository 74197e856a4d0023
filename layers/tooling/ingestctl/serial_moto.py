"""A moto server whose DynamoDB calls are atomic, for concurrency tests, benchmarks and the local stack.

moto's server handles requests on threads, and its DynamoDB backend is not safe under them: a
TransactWriteItems checks its conditions and writes without a lock, and a cancelled transaction restores a
copy of the whole table taken when it started, erasing what other requests wrote meanwhile. Measured
here: 20 threads racing to create one organisation uid left 3 sessions. Real DynamoDB applies each call
atomically, so this server runs DynamoDB calls one at a time (other services, e.g. SQS long polls, stay
concurrent). Usage: `python -m ingestctl.serial_moto --host 127.0.0.1 --port 5000`.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

from ingestctl import moto_transactions

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serialise_dynamodb(app: WsgiApp) -> WsgiApp:
    """Wrap a WSGI app so DynamoDB requests (X-Amz-Target `DynamoDB_…`) run one at a time."""
    lock = threading.Lock()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB"):
            return app(environ, start_response)
        with lock:
            return list(app(environ, start_response))  # the whole response is built under the lock

    return application


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    moto_transactions.install()
    app = serialise_dynamodb(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
