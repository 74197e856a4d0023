"""Integration tests run against moto (`mock_aws`) with tables and queues built from template.yaml."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ingestctl.local.moto_server import MotoServer
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


@pytest.fixture(scope="session")
def moto_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server in its own process on a loopback port the OS gives, for the whole test session.

    In-process `mock_aws` is not thread-safe (DESIGN.md), and neither is moto's own server for DynamoDB
    transactions: this is `ingestctl.local.serial_moto`, which applies each DynamoDB call atomically as
    DynamoDB does. Tests of concurrent behaviour talk to it over HTTP; it runs beside the test threads.
    """
    log_dir = tmp_path_factory.mktemp("serial-moto")
    server = MotoServer("127.0.0.1", 0, lambda port: log_dir / f"moto-{port}.log")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


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
