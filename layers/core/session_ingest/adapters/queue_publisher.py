"""Sends accepted requests to the ingest queue as IngestEnvelope messages."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from session_ingest.adapters.aws import client
from session_ingest.envelope import REQUEST_ID_ATTRIBUTE, IngestEnvelope
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
