"""The SQS event source mapping of a function: long-poll, batch, invoke, delete what succeeded.

As Lambda's poller does: batches of up to `BatchSize` gathered for up to
`MaximumBatchingWindowInSeconds`; a handler error (or timeout, or an invalid response) fails the whole
batch; with `ReportBatchItemFailures` only the reported messages stay. Nothing is deleted for a
failure, so it becomes visible again after the queue's visibility timeout, and moto's redrive policy
moves it to the DLQ after `maxReceiveCount` receives, as in AWS.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingestctl.local.functions import SqsSource
from ingestctl.local.logs import LogRouter

LONG_POLL_SECONDS = 2  # short enough for a quick shutdown, long enough not to spin
MAX_DELETE_BATCH = 10


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return converted


def lambda_sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the SQS event, in Lambda's shape, from a ReceiveMessage message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


class InvalidBatchResponse(ValueError):
    """The handler's partial batch response names no message of the batch (Lambda fails the whole batch)."""


def failed_message_ids(response: Any, message_ids: list[str], report_batch_item_failures: bool) -> set[str]:
    """The messages to keep after a successful invocation, by Lambda's partial batch response rules."""
    if not report_batch_item_failures or not response:
        return set()
    if not isinstance(response, dict):
        raise InvalidBatchResponse("response is not an object")
    failures = response.get("batchItemFailures") or []
    if not isinstance(failures, list):
        raise InvalidBatchResponse("batchItemFailures is not a list")
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in message_ids:
            raise InvalidBatchResponse(f"itemIdentifier {identifier!r} is not a message of the batch")
        failed.add(identifier)
    return failed


@dataclass(frozen=True)
class BatchResult:
    received: int
    deleted: int
    failed: int


class SqsPoller:
    """One poller thread for one event source mapping (several may share a queue, as Lambda's do)."""

    def __init__(
        self,
        *,
        function: str,
        source: SqsSource,
        queue_url: str,
        queue_arn: str,
        region: str,
        sqs: Any,
        invoke: Callable[[dict[str, Any]], Any],
        router: LogRouter,
        name: str,
    ) -> None:
        self._function = function
        self._source = source
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = region
        self._sqs = sqs
        self._invoke = invoke
        self._router = router
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish the batch in hand (if any), then stop."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._collect_batch()
                if messages:
                    self._process(messages)
            except Exception as exc:  # moto stopping, a network error: report and keep polling
                if self._stop.is_set():
                    return
                self._router.stack(f"{self._function} poller: {exc}")
                self._stop.wait(1)

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def _collect_batch(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages, waiting at most the batching window after the first one arrives."""
        batch_size = self._source.batch_size
        messages = self._receive(min(batch_size, 10), LONG_POLL_SECONDS)
        if not messages:
            return []
        window_end = time.monotonic() + self._source.batching_window_seconds
        while len(messages) < batch_size and not self._stop.is_set():
            remaining = window_end - time.monotonic()
            if remaining <= 0:
                break
            messages += self._receive(min(batch_size - len(messages), 10), max(1, int(remaining)))
        return messages

    def _process(self, messages: list[dict[str, Any]]) -> BatchResult:
        event = {
            "Records": [lambda_sqs_record(message, self._queue_arn, self._region) for message in messages]
        }
        ids = [message["MessageId"] for message in messages]
        started = time.perf_counter()
        try:
            response = self._invoke(event)
            failed = failed_message_ids(response, ids, self._source.report_batch_item_failures)
        except Exception as exc:  # handler error, timeout or invalid response: the whole batch failed
            self._router.stack(f"{self._function}: batch of {len(ids)} failed, none deleted ({exc})")
            return BatchResult(len(ids), 0, len(ids))
        succeeded = [message for message in messages if message["MessageId"] not in failed]
        self._delete(succeeded)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._router.stack(
            f"{self._function}: batch of {len(ids)} -> {len(succeeded)} done, {len(failed)} failed "
            f"({elapsed_ms:.0f} ms)"
        )
        return BatchResult(len(ids), len(succeeded), len(failed))

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), MAX_DELETE_BATCH):
            chunk = messages[start : start + MAX_DELETE_BATCH]
            response = self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed", []):
                self._router.stack(f"{self._function}: delete failed: {failure.get('Message')}")
