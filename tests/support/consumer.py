"""Builders for consumer tests and benchmarks: envelopes, queued request items, SQS events, reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestctl.admin.locations import LocationsRepository
from session_ingest.adapters.aws import client
from session_ingest.adapters.dynamodb_items import from_item, to_item
from session_ingest.adapters.request_ledger import RequestLedger, request_key
from session_ingest.adapters.sessions_repo import SessionsRepository
from session_ingest.domain.models import EndpointType, IngestWarning
from session_ingest.domain.utc import format_utc
from session_ingest.envelope import REQUEST_ID_ATTRIBUTE, IngestEnvelope
from session_ingest.service.process import ProcessResult, QueueMessage, process_message
from session_ingest.settings import get_settings

ORG = "acme"
EVENT_ID = 42
ENDPOINT_ID = "6f1d8a52-3c1e-4a57-9a57-0b8f2f7c1a10"
T0 = datetime(2026, 6, 14, 23, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """An accept time `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def make_envelope(
    record: dict[str, Any],
    *,
    accepted_at: datetime = T0,
    request_id: str | None = None,
    event_id: int = EVENT_ID,
    warnings: list[IngestWarning] | None = None,
) -> IngestEnvelope:
    return IngestEnvelope(
        request_id=request_id or str(uuid.uuid4()),
        endpoint_id=ENDPOINT_ID,
        organisation=ORG,
        event_id=event_id,
        endpoint_type=EndpointType.SESSION,
        accepted_at=accepted_at,
        payload={"session": record},
        record=record,
        warnings=warnings or [],
    )


def queue_request(envelope: IngestEnvelope) -> None:
    """The request outcome item exactly as the ingest API writes it before sending the message."""
    values = {
        "pk": f"REQUEST#{envelope.request_id}",
        "request_id": envelope.request_id,
        "endpoint_id": envelope.endpoint_id,
        "status": "queued",
        "accepted_at": format_utc(envelope.accepted_at),
        "warnings": [warning.model_dump() for warning in envelope.warnings],
        "errors": [],
        "expires_at": int((envelope.accepted_at + timedelta(days=30)).timestamp()),
    }
    client("dynamodb").put_item(TableName=get_settings().requests_table, Item=to_item(values))


def message_of(envelope: IngestEnvelope, receive_count: int = 1) -> QueueMessage:
    return QueueMessage(envelope.model_dump_json(), envelope.request_id, receive_count)


def deliver(envelope: IngestEnvelope, receive_count: int = 1) -> ProcessResult:
    """Process one message of `envelope` (its request item must have been queued)."""
    return process_message(message_of(envelope, receive_count))


def accept_and_deliver(envelope: IngestEnvelope) -> ProcessResult:
    queue_request(envelope)
    return deliver(envelope)


def sqs_record(
    body: str, request_id: str | None, message_id: str | None = None, receive_count: int = 1
) -> dict[str, Any]:
    """One record of a Lambda SQS event."""
    attributes = (
        {REQUEST_ID_ATTRIBUTE: {"stringValue": request_id, "dataType": "String"}} if request_id else {}
    )
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1781478000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1781478000001",
        },
        "messageAttributes": attributes,
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:IngestQueue",
        "awsRegion": "eu-west-1",
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def sessions() -> SessionsRepository:
    return SessionsRepository(get_settings().sessions_table)


def locations() -> LocationsRepository:
    return LocationsRepository(get_settings().sessions_table, get_settings().endpoints_table)


def outcomes() -> RequestLedger:
    return RequestLedger(get_settings().requests_table)


def stored_sessions(event_id: int = EVENT_ID) -> list[dict[str, Any]]:
    return list(sessions().list_sessions(event_id))


def outcome(request_id: str) -> dict[str, Any]:
    """The stored outcome item as plain values (every attribute, as DynamoDB holds it)."""
    item = (
        client("dynamodb")
        .get_item(TableName=get_settings().requests_table, Key=request_key(request_id), ConsistentRead=True)
        .get("Item")
    )
    assert item is not None, f"no outcome for {request_id}"
    return from_item(item)


class FakeLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name = "IngestConsumerFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:IngestConsumerFunction"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name = "/aws/lambda/IngestConsumerFunction"
    log_stream_name = "2026/06/14/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def lambda_records(messages: list[dict[str, Any]], queue_arn: str) -> list[dict[str, Any]]:
    """ReceiveMessage results as the records of a Lambda SQS event (as the event source mapping does)."""
    records = []
    for message in messages:
        attributes = {
            name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        }
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": attributes,
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "eu-west-1",
            }
        )
    return records


def poll_once(handler: Any, queue_url: str) -> dict[str, Any]:
    """One event-source-mapping round: receive a batch, invoke `handler`, delete what succeeded.

    Failed messages are made visible again at once, so the next round redelivers them (their receive count
    grows, and past the queue's maxReceiveCount SQS moves them to the dead-letter queue)."""
    sqs = client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    received = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    if not received:
        return {"batchItemFailures": [], "received": 0}
    response: dict[str, Any] = handler(sqs_event(*lambda_records(received, queue_arn)), FakeLambdaContext())
    failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    done = [
        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
        for index, message in enumerate(received)
        if message["MessageId"] not in failed
    ]
    if done:
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)
    return {**response, "received": len(received)}


def send_envelope(queue_url: str, envelope: IngestEnvelope) -> str:
    """Queue `envelope` as the ingest API does (body + request_id attribute); returns the message id."""
    response = client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=envelope.model_dump_json(),
        MessageAttributes={REQUEST_ID_ATTRIBUTE: {"DataType": "String", "StringValue": envelope.request_id}},
    )
    return str(response["MessageId"])
