"""A moto server that serves one request at a time: `python serial_moto_server.py HOST PORT`.

`python -m moto.server` handles each request on its own thread, and moto's backends are not
thread-safe: a cancelled TransactWriteItems restores a snapshot of the whole table, wiping writes that
other threads made meanwhile (seen here: 13 requests admitted past a rate limit of 10 with 12 racing
clients). DynamoDB makes every conditional write atomic; serving requests one by one is how the
emulator keeps that promise. Clients still race each other freely, which is what the tests exercise.
"""

from __future__ import annotations

import os
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main(host: str, port: int) -> None:
    os.environ.setdefault("MOTO_PORT", str(port))
    application = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, application, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
