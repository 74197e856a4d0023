"""Consumer Lambda: SQS batch -> one `process_message` per record, partial batch response (contract §6).

The batch's reads are made once for all its records first (`prepare_batch`: one batch read, one counter
update); each record then keeps its own conditional transaction. A record that raises is reported in
`batchItemFailures` and redelivered by SQS alone; the others are deleted.
`raise_on_entire_batch_failure=False` keeps the reply shape the same when every record fails (SQS treats
both alike; the local stack's poller relies on the reply).
"""

from __future__ import annotations

from session_ingest.init_phase import end_of_init

from typing import Any

# Before anything imports pydantic: with pydantic loaded, the batch utility also builds Powertools' parser
# models at import (tests/unit/test_cold_imports.py).
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from session_ingest import snapstart
from session_ingest.envelope import REQUEST_ID_ATTRIBUTE
from session_ingest.observability import logger, metrics
from session_ingest.service.consumer_batch import BatchReads
from session_ingest.service.process import QueueMessage, prepare_batch, process_message

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def queue_message(record: SQSRecord) -> QueueMessage:
    attribute = record.message_attributes[REQUEST_ID_ATTRIBUTE]
    return QueueMessage(
        body=record.body,
        request_id=attribute.string_value if attribute is not None else None,
        receive_count=int(record.attributes.approximate_receive_count or 1),
    )


def record_handler(record: SQSRecord, reads: BatchReads | None = None) -> str:
    """One record: its request id (message attribute) is the correlation id of every log line it causes."""
    message = queue_message(record)
    logger.set_correlation_id(message.request_id)
    logger.append_keys(message_id=record.message_id)
    return process_message(message, reads=reads).status.value


def prime_first_request() -> None:
    """SnapStart: before the snapshot, build what the first batch needs (session_ingest/snapstart.py)."""
    snapstart.prime(("dynamodb",), json_schema=False)


snapstart.register_hooks(prime_first_request)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reads = prepare_batch([queue_message(SQSRecord(record)) for record in event.get("Records", [])])

    def handle(record: SQSRecord) -> str:
        return record_handler(record, reads)

    return dict(
        process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
    )


end_of_init()  # last: everything above is the init (session_ingest/init_phase.py)
