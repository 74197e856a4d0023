"""Lambda's SQS event-source rules: record shape and partial batch responses."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ingestctl.local.sqs_source import InvalidBatchResponse, failed_message_ids, lambda_sqs_record

IDS = ["m1", "m2", "m3"]


@pytest.mark.parametrize(
    ("response", "report", "failed"),
    [
        (None, True, set()),
        ({}, True, set()),
        ({"batchItemFailures": []}, True, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, True, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, False, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}, True, {"m1", "m3"}),
    ],
    ids=["none", "empty", "no failures", "one failure", "not reporting", "two failures"],
)
def test_only_reported_messages_are_kept(response: Any, report: bool, failed: set[str]) -> None:
    # Given a handler's response to a batch of three
    # When the messages to keep are chosen
    # Then they are exactly the reported ones (nothing when the mapping does not report failures)
    assert failed_message_ids(response, IDS, report) == failed


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "elsewhere"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{}]},
        {"batchItemFailures": "m1"},
        ["m1"],
    ],
    ids=["unknown id", "empty id", "missing id", "not a list", "not an object"],
)
def test_an_invalid_partial_response_fails_the_whole_batch(response: Any) -> None:
    # Given a response Lambda would reject
    # When the messages to keep are chosen
    # Then the whole batch counts as failed
    with pytest.raises(InvalidBatchResponse):
        failed_message_ids(response, IDS, True)


def test_a_received_message_becomes_a_record_in_lambdas_shape() -> None:
    # Given a message as ReceiveMessage returns it (string and binary attributes)
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "rh",
        "MD5OfBody": "md5",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
        "MessageAttributes": {
            "request_id": {"StringValue": "r1", "DataType": "String"},
            "blob": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
        },
    }
    # When it is turned into an SQS event record
    record = lambda_sqs_record(message, "arn:aws:sqs:eu-west-1:1:Q", "eu-west-1")
    # Then names are camelCase, binary values base64, and the source is the queue
    assert record["messageId"] == "m1"
    assert record["receiptHandle"] == "rh"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["request_id"] == {
        "stringValue": "r1",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert base64.b64decode(record["messageAttributes"]["blob"]["binaryValue"]) == b"\x00\x01"
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs",
        "arn:aws:sqs:eu-west-1:1:Q",
        "eu-west-1",
    )
