"""The emulated events have the shape of the sample events in events/ (the deployed functions' events)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from ingestctl.local.api_gateway import RouteTable, compile_route, proxy_event
from ingestctl.local.functions import function_specs
from ingestctl.local.sqs_source import lambda_sqs_record
from ingestctl.local.template import REPO_ROOT

API_SAMPLES = sorted((REPO_ROOT / "events" / "ingest_api").glob("*.json"))
SQS_SAMPLES = sorted((REPO_ROOT / "events").glob("sqs_*.json"))


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _routes() -> RouteTable:
    return RouteTable(
        [compile_route(spec.logical_id, route) for spec in function_specs() for route in spec.api_routes]
    )


@pytest.mark.parametrize("sample_path", API_SAMPLES, ids=lambda path: path.stem)
def test_the_api_gateway_emulator_builds_the_sample_events_shape(sample_path: Path) -> None:
    # Given a sample API Gateway event of the ingest API
    sample = _load(sample_path)
    request = Request(
        EnvironBuilder(
            method=sample["httpMethod"], path=sample["path"], data=b"{}", headers=[("X-A", "1")]
        ).get_environ()
    )
    # When the emulator builds the event for the same method and path
    matched = _routes().match(request.method, request.path)
    assert matched is not None
    event = proxy_event(request, matched[0], matched[1], "req-1", "123456789012")
    # Then it routes to the same resource, with the sample's keys (and request context keys)
    assert event["resource"] == sample["resource"]
    assert event["pathParameters"] == sample["pathParameters"]
    assert set(event) == set(sample)
    assert set(sample["requestContext"]) <= set(event["requestContext"])
    assert set(sample["requestContext"]["identity"]) <= set(event["requestContext"]["identity"])


@pytest.mark.parametrize("sample_path", SQS_SAMPLES, ids=lambda path: path.stem)
def test_the_sqs_poller_builds_the_sample_records_shape(sample_path: Path) -> None:
    # Given a sample SQS event of the consumer
    for sample in _load(sample_path)["Records"]:
        # When the poller builds a record from the message SQS would return for it
        message = {
            "MessageId": sample["messageId"],
            "ReceiptHandle": sample["receiptHandle"],
            "MD5OfBody": sample["md5OfBody"],
            "Body": sample["body"],
            "Attributes": sample["attributes"],
            "MessageAttributes": {
                name: {"StringValue": value["stringValue"], "DataType": value["dataType"]}
                for name, value in sample["messageAttributes"].items()
            },
        }
        record = lambda_sqs_record(message, sample["eventSourceARN"], sample["awsRegion"])
        # Then it is the sample record
        assert record == sample
