"""moto in server mode, in its own process, on loopback: the local stack's AWS.

It is `ingestctl.local.serial_moto`: moto's server with DynamoDB calls applied one at a time, as DynamoDB
applies each call atomically (moto's threaded server lets racing transactions interleave, which would
let the consumer's conditional creates both succeed). SQS long polls stay concurrent.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

# Generous: on a loaded machine moto's import alone can take many seconds; a healthy start never waits it.
READY_TIMEOUT_SECONDS = 90.0
LISTEN_BACKLOG = 128  # werkzeug's own


class PortInUse(RuntimeError):
    def __init__(self, host: str, port: int, option: str) -> None:
        super().__init__(f"port {port} on {host} is already in use (choose another with {option})")
        self.port = port


def bind_listener(host: str, port: int, option: str) -> socket.socket:
    """A listening TCP socket on host:port (0: whatever port the OS gives); PortInUse names `option`.

    Binding is the only race-free check: a probe that binds, closes and lets a server bind again later
    can lose the port to anyone in between (two test workers, two stacks).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        # SO_REUSEADDR (set by create_server): sockets in TIME_WAIT do not count as "in use".
        return socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUse(host, port, option) from exc
        raise


def listener_port(listener: socket.socket) -> int:
    port: int = listener.getsockname()[1]
    return port


def _die_with_parent() -> None:
    """Linux: have the kernel stop moto if the stack process dies without cleaning up."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class MotoServer:
    """`python -m ingestctl.local.serial_moto` on host:port (0: any free port), its output in a log file.

    The port is bound here and the listening socket handed to the child, so `port` and `url` are the
    real ones as soon as `start()` returns, and no one can take the port in between.
    """

    def __init__(
        self, host: str, port: int, log_path_for: Callable[[int], Path], option: str = "--aws-port"
    ) -> None:
        self.host = host
        self.port = port
        self._log_path_for = log_path_for
        self._option = option
        self.log_path = log_path_for(port)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        with bind_listener(self.host, self.port, self._option) as listener:
            self.port = listener_port(listener)
            self.log_path = self._log_path_for(self.port)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("wb") as log:
                self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and moto
                    [
                        sys.executable,
                        "-m",
                        "ingestctl.local.serial_moto",
                        "--host",
                        self.host,
                        "--fd",
                        str(listener.fileno()),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(),),
                    start_new_session=True,  # Ctrl-C reaches the stack, which stops moto last
                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"moto server exited with code {self._process.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=5):  # noqa: S310
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"moto server did not answer within {READY_TIMEOUT_SECONDS:.0f} s; see {self.log_path}"
        )

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
