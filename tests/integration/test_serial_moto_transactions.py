"""The serial moto server rolls back a cancelled transaction item by item, as DynamoDB does."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from ingestctl.local.template import CreatedResources

SESSION = {"pk": {"S": "EVENT#1"}, "sk": {"S": "SESSION#1"}}


def _session_item(name: str, resource_id: str) -> dict[str, dict[str, str]]:
    return {**SESSION, "name": {"S": name}, "resource_id": {"S": resource_id}}


def _by_resource_id(table: str, resource_id: str) -> list[dict[str, object]]:
    response = boto3.client("dynamodb").query(
        TableName=table,
        IndexName="ResourceIdIndex",
        KeyConditionExpression="resource_id = :r",
        ExpressionAttributeValues={":r": {"S": resource_id}},
    )
    items: list[dict[str, object]] = response["Items"]
    return items


def test_a_cancelled_transaction_leaves_neither_its_puts_nor_its_updates(
    moto_server: CreatedResources,
) -> None:
    # Given a stored session and an unrelated item
    dynamodb = boto3.client("dynamodb")
    table = moto_server.tables["SessionsTable"]
    dynamodb.put_item(TableName=table, Item=_session_item("Before", "acme/session/1"))
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "EVENT#1"}, "sk": {"S": "LOCATION#1"}})
    # When a transaction puts a new session, renames the stored one, and then fails a condition
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {**_session_item("New", "acme/session/2"), "sk": {"S": "SESSION#2"}},
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": SESSION,
                        "UpdateExpression": "SET #n = :n, resource_id = :r",
                        "ExpressionAttributeNames": {"#n": "name"},
                        "ExpressionAttributeValues": {":n": {"S": "After"}, ":r": {"S": "acme/session/9"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "EVENT#1"}, "sk": {"S": "LOCATION#1"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    # Then it was cancelled, the new item is gone, the stored one is as it was, and the index agrees
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in dynamodb.get_item(
        TableName=table, Key={"pk": {"S": "EVENT#1"}, "sk": {"S": "SESSION#2"}}
    )
    assert dynamodb.get_item(TableName=table, Key=SESSION)["Item"]["name"] == {"S": "Before"}
    assert _by_resource_id(table, "acme/session/2") == []
    assert _by_resource_id(table, "acme/session/9") == []
    assert len(_by_resource_id(table, "acme/session/1")) == 1


def test_a_successful_transaction_keeps_every_write(moto_server: CreatedResources) -> None:
    # Given an empty sessions table
    dynamodb = boto3.client("dynamodb")
    table = moto_server.tables["SessionsTable"]
    # When a transaction of two puts succeeds
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": _session_item("One", "acme/session/1")}},
            {
                "Put": {
                    "TableName": table,
                    "Item": {**_session_item("Two", "acme/session/2"), "sk": {"S": "SESSION#2"}},
                }
            },
        ]
    )
    # Then both are stored
    assert len(_by_resource_id(table, "acme/session/1")) == 1
    assert len(_by_resource_id(table, "acme/session/2")) == 1
