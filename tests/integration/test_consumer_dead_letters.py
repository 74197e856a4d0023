"""A poison message through the real queue: fails alone, reaches the DLQ after maxReceiveCount with its
outcome failed (dead-lettered, with the reason) by the consumer's last receive, shows in the read-only
`ingestctl dlq list` and comes back with `dlq redrive`."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from ingest_consumer_handler import lambda_handler
from ingestctl.cli import app
from ingestctl.local.template import CreatedResources, queue_specs
from session_ingest.adapters.aws import client
from session_ingest.envelope import REQUEST_ID_ATTRIBUTE
from tests.support.consumer import (
    make_envelope,
    outcome,
    poll_once,
    queue_request,
    send_envelope,
    stored_sessions,
)

MAX_RECEIVES = int(
    next(spec.max_receive_count or 0 for spec in queue_specs() if spec.logical_id == "IngestQueue")
)
runner = CliRunner()


def _depth(queue_url: str) -> int:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _ingestctl(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def _without_receive_counts(listed: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if k != "receive_count"} for m in listed["messages"]]


def _send_poison(queue_url: str) -> str:
    """A truncated body for a request the API queued (its outcome item exists)."""
    poison = make_envelope({"name": "never readable"}, request_id="poison-request")
    queue_request(poison)
    client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=poison.model_dump_json()[:40],
        MessageAttributes={REQUEST_ID_ATTRIBUTE: {"DataType": "String", "StringValue": poison.request_id}},
    )
    return poison.request_id


def _consume_until_drained(queue_url: str) -> list[dict[str, Any]]:
    rounds = []
    for _ in range(MAX_RECEIVES + 3):
        response = poll_once(lambda_handler, queue_url)
        if not response["received"]:
            break
        rounds.append(response)
    return rounds


def test_a_poison_message_fails_alone_then_reaches_the_dlq_and_redrive_brings_it_back(
    aws: CreatedResources,
) -> None:
    ingest_url = aws.queue_urls["IngestQueue"]
    dlq_url = aws.queue_urls["IngestDeadLetterQueue"]
    # Given nine valid messages and one poison message on the ingest queue
    for index in range(9):
        envelope = make_envelope({"organisation_uid": f"q-{index}", "name": f"s{index}"})
        queue_request(envelope)
        send_envelope(ingest_url, envelope)
    poison_request = _send_poison(ingest_url)
    # When the consumer polls until the queue is empty (failed messages are redelivered)
    rounds = _consume_until_drained(ingest_url)
    # Then every round reported only the poison message, the nine sessions exist once each,
    # and after maxReceiveCount deliveries the poison message sits in the DLQ
    assert [len(r["batchItemFailures"]) for r in rounds] == [1] * MAX_RECEIVES
    assert len(stored_sessions()) == 9
    assert (_depth(ingest_url), _depth(dlq_url)) == (0, 1)
    # And the last receive's failure made the outcome failed, dead-lettered, with the reason
    stored = outcome(poison_request)
    assert stored["delivery_attempts"] == MAX_RECEIVES
    assert (stored["status"], stored["failure_kind"]) == ("failed", "dead_lettered")
    assert stored["errors"] == [f"dead-lettered: {stored['last_error']}"]
    assert stored["last_error"].startswith("body is not JSON")

    # When an operator lists the DLQ, twice
    listed = _ingestctl("dlq", "list")
    listed_again = _ingestctl("dlq", "list")
    # Then it shows the request, the recorded reason and the outcome, and changes nothing
    (message,) = listed["messages"]
    assert message["request_id"] == poison_request
    assert message["reason"] == stored["last_error"]
    assert message["outcome_status"] == "failed"
    assert _without_receive_counts(listed_again) == _without_receive_counts(listed)  # a peek is a receive
    assert outcome(poison_request) == stored
    assert _depth(dlq_url) == 1  # listing leaves the message where it is

    # When the operator redrives the DLQ
    redriven = _ingestctl("dlq", "redrive")
    # Then the message is back on the ingest queue, with its request id, and the outcome is queued again
    assert redriven["redriven"] == 1
    assert (_depth(ingest_url), _depth(dlq_url)) == (1, 0)
    back = client("sqs").receive_message(QueueUrl=ingest_url, MessageAttributeNames=["All"])["Messages"][0]
    assert back["MessageAttributes"][REQUEST_ID_ATTRIBUTE]["StringValue"] == poison_request
    assert outcome(poison_request)["status"] == "queued"


def test_listing_an_empty_dlq_prints_no_messages(aws: CreatedResources) -> None:
    assert _ingestctl("dlq", "list") == {"count": 0, "messages": []}
