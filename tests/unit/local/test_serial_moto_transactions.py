"""serial_moto's TransactWriteItems: DynamoDB's all-or-nothing semantics without copying whole tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from ingestctl.serial_moto import journaled_transact_write_items


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", journaled_transact_write_items)

    def refuse_copy(self: Table, memo: Any) -> Table:
        raise AssertionError("a whole table was copied")

    # The point of the journal: no table is ever deep-copied, however large
    monkeypatch.setattr(Table, "__deepcopy__", refuse_copy, raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName="T",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="T", Item={"pk": {"S": "old"}, "n": {"N": "1"}})
        yield client


def _item(client: Any, pk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = client.get_item(TableName="T", Key={"pk": {"S": pk}}).get("Item")
    return item


def _put(pk: str, **extra: Any) -> dict[str, Any]:
    return {"Put": {"TableName": "T", "Item": {"pk": {"S": pk}}, **extra}}


def test_a_transaction_applies_puts_updates_deletes_and_checks_together(dynamodb: Any) -> None:
    # Given an existing item / When one transaction writes, updates, checks and deletes
    dynamodb.put_item(TableName="T", Item={"pk": {"S": "gone"}})
    dynamodb.transact_write_items(
        TransactItems=[
            _put("new", ConditionExpression="attribute_not_exists(pk)"),
            {
                "Update": {
                    "TableName": "T",
                    "Key": {"pk": {"S": "old"}},
                    "UpdateExpression": "ADD n :one",
                    "ConditionExpression": "n = :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": "T", "Key": {"pk": {"S": "gone"}}}},
            {
                "ConditionCheck": {
                    "TableName": "T",
                    "Key": {"pk": {"S": "absent"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
    )
    # Then every write is made
    assert _item(dynamodb, "new") == {"pk": {"S": "new"}}
    assert _item(dynamodb, "old") == {"pk": {"S": "old"}, "n": {"N": "2"}}
    assert _item(dynamodb, "gone") is None


def test_a_failed_condition_cancels_everything_with_reasons_per_item(dynamodb: Any) -> None:
    # Given a transaction whose second item's condition is false
    items = [
        _put("new"),
        _put(
            "old",
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
    ]
    # When it is written
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=items)
    # Then nothing is written, and the reasons say which item failed, with its old value
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = raised.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"] == {"pk": {"S": "old"}, "n": {"N": "1"}}
    assert _item(dynamodb, "new") is None


def test_two_operations_on_one_item_are_a_validation_error(dynamodb: Any) -> None:
    # Given a transaction naming one item twice / When it is written / Then it is refused outright
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[_put("a"), _put("a")])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert _item(dynamodb, "a") is None


def test_a_write_failing_after_the_conditions_passed_puts_back_what_was_written(dynamodb: Any) -> None:
    # Given a transaction whose first write succeeds and whose second one cannot be applied
    items = [
        _put("new"),
        {"Put": {"TableName": "T", "Item": {"pk": {"S": "old"}, "n": {"N": "5"}}}},
        {
            "Update": {
                "TableName": "T",
                "Key": {"pk": {"S": "third"}},
                "UpdateExpression": "SET #missing = :v",
                "ExpressionAttributeValues": {":v": {"S": "x"}},
            }
        },
    ]
    # When it is written
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=items)
    # Then the table is as before: the new item is gone and the old one has its old value
    assert _item(dynamodb, "new") is None
    assert _item(dynamodb, "old") == {"pk": {"S": "old"}, "n": {"N": "1"}}
    assert _item(dynamodb, "third") is None
