"""The tables and queues the tests and the local stack run on are the ones `sam deploy` would create.

Expected values come from SAM's built template (.aws-sam/build/template.yaml, written by `sam build`,
read here with a plain YAML parser); actual values are read back from moto's APIs after
`ingestctl.local.template.create_resources` made them. A property ingestctl drops, misreads or resolves
differently from the deployed template fails here.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml

from ingestctl.local.artifact import DEPLOY_BUILD_DIR
from ingestctl.local.template import CreatedResources, resolve_value
from tests.integration.sam_build import require_build


@pytest.fixture(scope="module")
def deployed_resources() -> dict[str, dict[str, Any]]:
    """Resources of SAM's built template, parameters at their defaults (samconfig's default env)."""
    built = require_build(DEPLOY_BUILD_DIR)
    template = yaml.safe_load(built.read_text(encoding="utf-8"))
    resources: dict[str, dict[str, Any]] = resolve_value(template, template["Resources"])
    return resources


def of_type(resources: dict[str, dict[str, Any]], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res["Properties"] for name, res in resources.items() if res["Type"] == resource_type}


def by_name(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def test_the_same_tables_and_queues_exist(
    aws: CreatedResources, deployed_resources: dict[str, dict[str, Any]]
) -> None:
    # Given the deployed template and the local resources
    # When their logical ids are compared
    # Then nothing is missing or extra locally
    assert set(aws.tables) == set(of_type(deployed_resources, "AWS::DynamoDB::Table"))
    assert set(aws.queue_urls) == set(of_type(deployed_resources, "AWS::SQS::Queue"))


def test_every_table_has_the_deployed_keys_indexes_and_settings(
    aws: CreatedResources, deployed_resources: dict[str, dict[str, Any]]
) -> None:
    dynamodb = boto3.client("dynamodb")
    for logical_id, expected in of_type(deployed_resources, "AWS::DynamoDB::Table").items():
        # Given a table as moto holds it
        table = dynamodb.describe_table(TableName=aws.tables[logical_id])["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=aws.tables[logical_id])["TimeToLiveDescription"]
        backups = dynamodb.describe_continuous_backups(TableName=aws.tables[logical_id])
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        # When compared with the deployed template's properties
        # Then keys, attributes, GSIs, billing, TTL, PITR, encryption and protection all match
        assert table["KeySchema"] == expected["KeySchema"], logical_id
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(
            expected["AttributeDefinitions"], key=str
        )
        actual_indexes = by_name(table.get("GlobalSecondaryIndexes", []), "IndexName")
        expected_indexes = by_name(expected.get("GlobalSecondaryIndexes", []), "IndexName")
        assert set(actual_indexes) == set(expected_indexes), logical_id
        for name, index in expected_indexes.items():
            assert actual_indexes[name]["KeySchema"] == index["KeySchema"], name
            assert (
                actual_indexes[name]["Projection"]["ProjectionType"] == index["Projection"]["ProjectionType"]
            )
        assert table["BillingModeSummary"]["BillingMode"] == expected["BillingMode"]
        expected_ttl = expected.get("TimeToLiveSpecification", {})
        if expected_ttl.get("Enabled"):
            assert (ttl["TimeToLiveStatus"], ttl.get("AttributeName")) == (
                "ENABLED",
                expected_ttl["AttributeName"],
            )
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED", logical_id
        expected_pitr = expected.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        assert (pitr["PointInTimeRecoveryStatus"] == "ENABLED") == bool(expected_pitr), logical_id
        assert (table.get("SSEDescription", {}).get("Status") == "ENABLED") == bool(
            expected.get("SSESpecification", {}).get("SSEEnabled")
        )
        assert table.get("DeletionProtectionEnabled", False) == expected.get(
            "DeletionProtectionEnabled", False
        )


def test_every_queue_has_the_deployed_timeouts_retention_encryption_and_redrive(
    aws: CreatedResources, deployed_resources: dict[str, dict[str, Any]]
) -> None:
    sqs = boto3.client("sqs")
    for logical_id, expected in of_type(deployed_resources, "AWS::SQS::Queue").items():
        # Given a queue as moto holds it
        attributes = sqs.get_queue_attributes(QueueUrl=aws.queue_urls[logical_id], AttributeNames=["All"])[
            "Attributes"
        ]
        # When compared with the deployed template's properties
        # Then visibility, retention, encryption and the redrive policy match
        for name in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if name in expected:
                assert attributes[name] == str(expected[name]), f"{logical_id}.{name}"
        assert (
            attributes.get("SqsManagedSseEnabled") == str(expected.get("SqsManagedSseEnabled", False)).lower()
        )
        expected_redrive = expected.get("RedrivePolicy")
        if expected_redrive is None:
            assert "RedrivePolicy" not in attributes, logical_id
            continue
        redrive = json.loads(attributes["RedrivePolicy"])
        target = expected_redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert int(redrive["maxReceiveCount"]) == expected_redrive["maxReceiveCount"]
        assert redrive["deadLetterTargetArn"].rsplit(":", 1)[1] == target
