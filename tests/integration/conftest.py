"""Integration tests run against moto (`mock_aws`) with tables and queues built from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ingestctl.template import CreatedResources, create_resources
from session_ingest.adapters.aws import reset_clients
from session_ingest.settings import get_settings


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[CreatedResources]:
    """A fresh moto account holding exactly the template's tables and queues, wired into the settings."""
    with mock_aws():
        created = create_resources(boto3.client("dynamodb"), boto3.client("sqs"))
        for name, value in created.environment().items():
            monkeypatch.setenv(name, value)
        reset_clients()
        get_settings.cache_clear()
        yield created
