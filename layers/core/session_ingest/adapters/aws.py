"""Cached boto3 clients with botocore's standard retry mode.

Clients are created on first use, never at import time: moto only intercepts clients created after it
starts, and import-time clients slow cold starts. Tests call `reset_clients()` between moto contexts.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)

# A session is not thread-safe (the local stack serves requests on threads): clients are made one at a
# time. The clients themselves are thread-safe.
_CLIENT_CREATION = threading.Lock()


@functools.cache
def _service_model_loader() -> botocore.loaders.Loader:
    """One loader for the process: reading the service models from disk dominates client creation."""
    return botocore.loaders.create_loader()


@functools.cache
def _session() -> boto3.session.Session:
    """One session for every client of the process: building a session registers botocore's ~240 event
    handlers, so a session per client cost each cold start ~15 ms per extra service."""
    core_session = botocore.session.get_session()
    core_session.register_component("data_loader", _service_model_loader())
    return boto3.session.Session(botocore_session=core_session)


@functools.cache
def client(service_name: str) -> Any:
    """The process-wide low-level client for `service_name` (e.g. "dynamodb", "sqs")."""
    with _CLIENT_CREATION:
        return _session().client(service_name, config=BOTO_CONFIG)


def reset_clients() -> None:
    """Forget cached clients and the session behind them, with the credentials it resolved (tests, after
    changing AWS_ENDPOINT_URL, and after a SnapStart restore). The service models are kept: plain data."""
    client.cache_clear()
    _session.cache_clear()
