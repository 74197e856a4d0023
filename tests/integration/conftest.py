"""Integration tests run against moto (`mock_aws`) with tables and queues built from template.yaml."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ingestctl.local.template import CreatedResources, create_resources
from session_ingest.adapters.aws import client, reset_clients
from session_ingest.settings import get_settings


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[CreatedResources]:
    """A fresh moto account holding exactly the template's tables and queues, wired into the settings."""
    with mock_aws():
        reset_clients()
        created = create_resources(client("dynamodb"), client("sqs"))
        for name, value in created.environment().items():
            monkeypatch.setenv(name, value)
        reset_clients()
        get_settings.cache_clear()
        yield created


# One request at a time: moto's backends are not thread-safe even in server mode (see the module).


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server at {url} did not start within {timeout_seconds} s")


@pytest.fixture(scope="session")
def moto_server_url() -> Iterator[str]:
    """A moto server in its own process on a free loopback port, for the whole test session.

    In-process `mock_aws` is not thread-safe (DESIGN.md), and neither is moto's own server for DynamoDB
    transactions: this is `ingestctl.local.serial_moto`, which applies each DynamoDB call atomically as
    DynamoDB does. Tests of concurrent behaviour talk to it over HTTP; it runs beside the test threads.
    """
    port = _free_loopback_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ingestctl.local.serial_moto", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def moto_server(moto_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CreatedResources]:
    """The template's tables and queues, fresh, in the moto server; AWS_ENDPOINT_URL points every client
    (the service's and ingestctl's) at it."""
    reset = urllib.request.Request(f"{moto_server_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=10):
        pass
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server_url)
    created = create_resources(boto3.client("dynamodb"), boto3.client("sqs"))
    for name, value in created.environment().items():
        monkeypatch.setenv(name, value)
    reset_clients()
    get_settings.cache_clear()
    yield created
    reset_clients()
