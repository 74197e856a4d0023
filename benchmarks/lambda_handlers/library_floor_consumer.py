"""The consumer function's library floor: what the libraries DESIGN chose cost before any code of ours.

The boto3 baseline (baseline_handler) plus Powertools' Logger and Metrics around the handler, its batch
utility answering the real SQS event with a partial batch response, and pydantic validating each
record's body as one small model (the real consumer reads the envelope and its settings as pydantic
models). The batch utility is imported before pydantic, as the real handler does (else it builds
Powertools' parser models too). bench_cold_start runs it with the built layer on the path;
`untraced - floor` is what the service's own code adds.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from baseline_handler import replay_recorded_calls
from pydantic import BaseModel

logger = Logger(service="library-floor")
metrics = Metrics(namespace="LibraryFloor", service="library-floor")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class Envelope(BaseModel):
    schema_version: int
    request_id: str
    record: dict[str, Any]


def record_handler(record: SQSRecord) -> str:
    envelope = Envelope.model_validate_json(record.body)
    replay_recorded_calls()
    metrics.add_metric(name="RecordsProcessed", unit="Count", value=1)
    return envelope.request_id


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
