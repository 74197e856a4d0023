"""Sends accepted requests to the ingest queue as IngestEnvelope messages."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from session_ingest.adapters.aws import client
from session_ingest.envelope import REQUEST_ID_ATTRIBUTE, IngestEnvelope
from session_ingest.observability import logger
from session_ingest.settings import get_settings


class QueueUnavailable(Exception):
    """SQS did not take the message (after botocore's retries)."""


def send_envelope(envelope: IngestEnvelope) -> str:
    """Queue one envelope, with its request id as a message attribute; returns the SQS message id.

    The ingest queue is a standard queue: SQS may deliver a message twice, and the consumer's
    conditional request-item update makes the second delivery change nothing.
    """
    try:
        response = client("sqs").send_message(
            QueueUrl=get_settings().ingest_queue_url,
            MessageBody=envelope.model_dump_json(),
            MessageAttributes={
                REQUEST_ID_ATTRIBUTE: {"DataType": "String", "StringValue": envelope.request_id}
            },
        )
    except (ClientError, BotoCoreError) as error:
        raise QueueUnavailable(type(error).__name__) from error
    return str(response["MessageId"])


MAX_SEND_BATCH_ENTRIES = 10  # SQS SendMessageBatch's limit


def send_envelope_batch(envelopes: Sequence[IngestEnvelope]) -> set[str]:
    """Queue envelopes with SendMessageBatch (10 a call); returns the request ids SQS took.

    SQS may take part of a batch: the entries it reports failed are simply not in the result, so the
    caller reports them not queued. A call that fails as a whole (after botocore's retries) takes none
    of its entries; the calls after it are still made, and what they take is queued. A client that
    cannot be made is QueueUnavailable, as for a single send.
    """
    taken: set[str] = set()
    try:
        sqs = client("sqs")
    except BotoCoreError as error:
        raise QueueUnavailable(type(error).__name__) from error
    queue_url = get_settings().ingest_queue_url
    for start in range(0, len(envelopes), MAX_SEND_BATCH_ENTRIES):
        chunk = envelopes[start : start + MAX_SEND_BATCH_ENTRIES]
        entries = [
            {
                "Id": str(index),
                "MessageBody": envelope.model_dump_json(),
                "MessageAttributes": {
                    REQUEST_ID_ATTRIBUTE: {"DataType": "String", "StringValue": envelope.request_id}
                },
            }
            for index, envelope in enumerate(chunk)
        ]
        try:
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as error:
            logger.warning(
                "SendMessageBatch failed; its entries are not queued", extra={"reason": repr(error)}
            )
            continue
        for failure in response.get("Failed", []):
            logger.warning("SQS did not take a message", extra={"code": failure.get("Code")})
        taken.update(chunk[int(entry["Id"])].request_id for entry in response.get("Successful", []))
    return taken
