"""The moto tables and queues are built from template.yaml itself."""

from __future__ import annotations

import json

import boto3

from ingestctl.local.template import CreatedResources, queue_specs, table_specs


def test_every_template_table_exists_with_its_indexes(aws: CreatedResources) -> None:
    # Given the tables created from the template
    dynamodb = boto3.client("dynamodb")
    for spec in table_specs():
        # When each is described
        table = dynamodb.describe_table(TableName=aws.tables[spec.logical_id])["Table"]
        # Then its key schema and GSIs are the template's
        assert table["KeySchema"] == spec.create_args["KeySchema"]
        expected_indexes = {
            index["IndexName"] for index in spec.create_args.get("GlobalSecondaryIndexes", [])
        }
        assert {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])} == expected_indexes


def test_ingest_queue_redrives_to_the_dead_letter_queue_after_the_templates_receive_count(
    aws: CreatedResources,
) -> None:
    # Given the template's ingest queue
    spec = next(spec for spec in queue_specs() if spec.logical_id == "IngestQueue")
    # When its attributes are read back
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws.queue_urls["IngestQueue"], AttributeNames=["All"]
    )["Attributes"]
    # Then the redrive policy and visibility timeout match the template
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == spec.max_receive_count
    assert redrive["deadLetterTargetArn"].endswith(":IngestDeadLetterQueue")
    assert attributes["VisibilityTimeout"] == spec.attributes["VisibilityTimeout"]
