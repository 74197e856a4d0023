"""`ingestctl push`'s HTTP transport against a real server on loopback: statuses, headers, no answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingestctl.push_client import NetworkError, urllib_transport


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 503 if self.path.endswith("/unavailable") else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "3")
        self.send_header("RateLimit-Remaining", "7")
        self.end_headers()
        self.wfile.write(
            b'{"echo": ' + body + b', "key": "' + self.headers["Idempotency-Key"].encode() + b'"}'
        )

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads replies, not the server's log."""


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("path", "status"), [("/ok", 200), ("/unavailable", 503)])
def test_every_status_is_a_reply_with_its_headers_and_body(server_url: str, path: str, status: int) -> None:
    # Given a server answering 200 or 503
    send = urllib_transport(timeout_seconds=5)
    # When a batch is posted
    reply = send("POST", server_url + path, {"Idempotency-Key": "push-v1-abc"}, b"[1]")
    # Then the status, lower-cased headers and body come back, error statuses included
    assert reply.status == status
    assert reply.header("Retry-After") == "3"
    assert reply.headers["ratelimit-remaining"] == "7"
    assert reply.document() == {"echo": [1], "key": "push-v1-abc"}


def test_no_answer_is_a_network_error() -> None:
    # Given a loopback port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # When a request is sent there
    # Then it is a NetworkError (retried by the client), not a reply
    with pytest.raises(NetworkError):
        urllib_transport(timeout_seconds=2)("POST", f"http://127.0.0.1:{port}/x", {}, b"{}")
