"""serial_moto's cheaper SQS receive: the same delays, visibility and retention, without whole-queue scans."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.utils import unix_time_millis as moto_unix_time_millis
from moto.core.utils import utcfromtimestamp
from moto.sqs import models as sqs_models

from ingestctl.local.serial_moto import (
    is_message_valid_based_on_retention_period,
    unix_time_millis,
)


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    monkeypatch.setattr(sqs_models, "unix_time_millis", unix_time_millis)
    monkeypatch.setattr(
        sqs_models.SQSBackend,
        "is_message_valid_based_on_retention_period",
        is_message_valid_based_on_retention_period,
    )

    with mock_aws():
        client = boto3.client("sqs", region_name="eu-west-1")
        url = client.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        yield client, url


@pytest.fixture(autouse=True)
def _receives_compute_no_queue_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point: a receive no longer computes the queue's attributes (each scans every message)."""
    original = sqs_models.SQSBackend.receive_message

    def refuse(self: Any) -> Any:
        raise AssertionError("a receive computed every attribute of the queue")

    def receive(self: Any, *args: Any, **kwargs: Any) -> Any:
        with monkeypatch.context() as patch:
            patch.setattr(sqs_models.Queue, "attributes", property(refuse))
            return original(self, *args, **kwargs)

    monkeypatch.setattr(sqs_models.SQSBackend, "receive_message", receive)


def _receive(client: Any, url: str, **extra: Any) -> list[str]:
    messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, **extra)
    return [message["Body"] for message in messages.get("Messages", [])]


def test_the_clock_is_moto_clock_without_the_datetime_round_trip() -> None:
    # Given moto's clock read before and after ours / When ours is read / Then it lies between the two
    # (moto's has whole microseconds: a millisecond either side), however long the machine took
    before = moto_unix_time_millis()
    ours = unix_time_millis()
    after = moto_unix_time_millis()
    assert before - 1 <= ours <= after + 1
    assert unix_time_millis(utcfromtimestamp(1)) == 1000.0


def test_received_messages_stay_hidden_for_their_visibility_timeout(sqs: tuple[Any, str]) -> None:
    # Given a message received with a visibility timeout
    client, url = sqs
    client.send_message(QueueUrl=url, MessageBody="m1")
    assert _receive(client, url, VisibilityTimeout=30) == ["m1"]
    # When the queue is read again at once / Then it is not delivered a second time
    assert _receive(client, url) == []


def test_a_visibility_timeout_of_zero_delivers_the_message_again(sqs: tuple[Any, str]) -> None:
    # Given a message received and released at once
    client, url = sqs
    client.send_message(QueueUrl=url, MessageBody="m1")
    assert _receive(client, url, VisibilityTimeout=0) == ["m1"]
    time.sleep(0.01)
    # When the queue is read again / Then it comes back
    assert _receive(client, url) == ["m1"]


def test_delayed_messages_are_not_delivered_before_their_delay(sqs: tuple[Any, str]) -> None:
    # Given one delayed and one immediate message / When the queue is read / Then only the immediate one
    client, url = sqs
    client.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=30)
    client.send_message(QueueUrl=url, MessageBody="now")
    assert _receive(client, url) == ["now"]


@pytest.mark.parametrize(("age_seconds", "valid"), [(0, True), (59, True), (61, False)])
def test_messages_older_than_the_retention_period_are_not_valid(
    sqs: tuple[Any, str], age_seconds: int, valid: bool
) -> None:
    # Given a queue retaining messages 60 s and a message of a given age
    backend = sqs_models.sqs_backends["123456789012"]["eu-west-1"]
    message = sqs_models.Message("id", "body")
    message.sent_timestamp = int((time.time() - age_seconds) * 1000)  # type: ignore[assignment]
    # When its retention is checked / Then it is valid only within the period
    assert is_message_valid_based_on_retention_period(backend, "q", message) is valid
