"""Inspect and redrive the ingest dead-letter queue: the SQS side of the operator's DLQ commands.

Listing changes nothing: it shows each message with the reason and outcome the consumer recorded (the
consumer marks an outcome failed, `dead_lettered`, when a message fails on its last allowed receive).
Redriving sets those outcomes back to `queued` *before* each message is sent to the ingest queue again
(the consumer only finalises `queued` outcomes), then deletes it from the DLQ. Which outcome moves, and
when, is decided in `service.request_outcomes`.

Redrive copies messages (receive, send, delete) rather than SQS StartMessageMoveTask: the outcome of each
message must be reset individually before it is moved, and moto (the local stack) has no move tasks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from session_ingest.adapters.aws import client
from session_ingest.adapters.request_ledger import RequestLedger
from session_ingest.envelope import REQUEST_ID_ATTRIBUTE
from session_ingest.service.request_outcomes import dead_letter_reason, requeue_for_redrive
from session_ingest.settings import Settings

# While listing, messages are hidden this long so one pass sees each once; then made visible again.
PEEK_VISIBILITY_SECONDS = 30
REDRIVE_VISIBILITY_SECONDS = 60
SQS_BATCH = 10


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    request_id: str | None
    endpoint_id: str | None
    reason: str
    receive_count: int
    sent_at: str | None
    outcome_status: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _request_id(message: dict[str, Any]) -> str | None:
    attribute = message.get("MessageAttributes", {}).get(REQUEST_ID_ATTRIBUTE)
    if attribute and attribute.get("StringValue"):
        return str(attribute["StringValue"])
    body = _body(message)
    value = body.get("request_id")
    return str(value) if isinstance(value, str) else None


def _body(message: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(message["Body"])
    except (json.JSONDecodeError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


def _sent_at(message: dict[str, Any]) -> str | None:
    sent = message.get("Attributes", {}).get("SentTimestamp")
    if sent is None:
        return None
    return datetime.fromtimestamp(int(sent) / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _receive_batches(queue_url: str, visibility_seconds: int) -> Iterator[list[dict[str, Any]]]:
    sqs = client("sqs")
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=SQS_BATCH,
            VisibilityTimeout=visibility_seconds,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        yield messages


def _batches(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), SQS_BATCH):
        yield items[start : start + SQS_BATCH]


class DeadLetterQueue:
    """The operator's view of the DLQ."""

    def __init__(self, settings: Settings) -> None:
        if not settings.dead_letter_queue_url:
            raise ValueError("the dead-letter queue URL is not configured (DEAD_LETTER_QUEUE_URL)")
        self.queue_url = settings.dead_letter_queue_url
        self.ingest_queue_url = settings.ingest_queue_url
        self.ledger = RequestLedger(settings.requests_table)

    def inspect(self) -> list[DeadLetter]:
        """Every message in the DLQ, with its recorded reason and outcome (read-only)."""
        seen: dict[str, dict[str, Any]] = {}
        for batch in _receive_batches(self.queue_url, PEEK_VISIBILITY_SECONDS):
            seen.update((message["MessageId"], message) for message in batch)
        self._release([message["ReceiptHandle"] for message in seen.values()])
        return [self._describe(message) for message in seen.values()]

    def redrive(self, on_moved: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
        """Move every DLQ message back to the ingest queue, resetting its outcome to `queued` first.

        `on_moved` hears the running count after each batch (the CLI's progress bar)."""
        sqs = client("sqs")
        moved: list[dict[str, Any]] = []
        for batch in _receive_batches(self.queue_url, REDRIVE_VISIBILITY_SECONDS):
            for message in batch:
                request_id = _request_id(message)
                if request_id is not None:
                    requeue_for_redrive(self.ledger, request_id)
            entries = [
                {
                    "Id": str(index),
                    "MessageBody": message["Body"],
                    "MessageAttributes": {
                        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
                        for name, value in message.get("MessageAttributes", {}).items()
                        if "StringValue" in value
                    },
                }
                for index, message in enumerate(batch)
            ]
            sent = sqs.send_message_batch(QueueUrl=self.ingest_queue_url, Entries=entries)
            for success in sent.get("Successful", []):
                message = batch[int(success["Id"])]
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                moved.append(
                    {
                        "message_id": message["MessageId"],
                        "new_message_id": success["MessageId"],
                        "request_id": _request_id(message),
                    }
                )
            if sent.get("Failed"):
                raise RuntimeError(f"could not send {len(sent['Failed'])} message(s) back: {sent['Failed']}")
            if on_moved is not None:
                on_moved(len(moved))
        return moved

    def _describe(self, message: dict[str, Any]) -> DeadLetter:
        request_id = _request_id(message)
        stored = self.ledger.get(request_id) if request_id else None
        return DeadLetter(
            message_id=message["MessageId"],
            request_id=request_id,
            endpoint_id=stored.endpoint_id if stored is not None else _body(message).get("endpoint_id"),
            reason=dead_letter_reason(stored),
            receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
            sent_at=_sent_at(message),
            outcome_status=None if stored is None else stored.status.value,
        )

    def _release(self, receipt_handles: list[str]) -> None:
        entries = [
            {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for index, handle in enumerate(receipt_handles)
        ]
        for batch in _batches(entries):
            client("sqs").change_message_visibility_batch(QueueUrl=self.queue_url, Entries=batch)
