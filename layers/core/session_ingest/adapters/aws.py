"""Cached boto3 clients with botocore's standard retry mode.

Clients are created on first use, never at import time: moto only intercepts clients created after it
starts, and import-time clients slow cold starts. Tests call `reset_clients()` between moto contexts.
"""

from __future__ import annotations

import functools
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


@functools.cache
def _service_model_loader() -> botocore.loaders.Loader:
    """One loader for the process: reading the service models from disk dominates client creation."""
    return botocore.loaders.create_loader()


@functools.cache
def client(service_name: str) -> Any:
    """The process-wide low-level client for `service_name` (e.g. "dynamodb", "sqs")."""
    core_session = botocore.session.get_session()
    core_session.register_component("data_loader", _service_model_loader())
    session = boto3.session.Session(botocore_session=core_session)
    return session.client(service_name, config=BOTO_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests, or after changing AWS_ENDPOINT_URL)."""
    client.cache_clear()
