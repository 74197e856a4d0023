"""The serial moto server's cheaper UpdateExpressions give moto's answers on every call, repeats included.

It remembers an expression's parse and which (expression, attribute names) passed the structural checks;
these cases repeat one expression text so that a remembered verdict would show if it leaked to a call it
does not cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ingestctl.local.template import CreatedResources

SESSION = {"pk": {"S": "EVENT#1"}, "sk": {"S": "SESSION#1"}}
OK = "ok"


@dataclass(frozen=True)
class Call:
    expression: str
    names: dict[str, str] | None
    values: dict[str, Any]


@dataclass(frozen=True)
class Case:
    name: str
    calls: list[Call]
    expected: list[str]  # "ok", or a fragment of the error message, per call


TEXT = {":v": {"S": "x"}}
CASES = [
    Case(
        "a name that once named a plain attribute, now a key attribute",
        [Call("SET #a = :v", {"#a": "title"}, TEXT), Call("SET #a = :v", {"#a": "pk"}, TEXT)],
        [OK, "part of the key"],
    ),
    Case(
        "names that once were distinct, now the same attribute",
        [
            Call("SET #a = :v, #b = :v", {"#a": "title", "#b": "code"}, TEXT),
            Call("SET #a = :v, #b = :v", {"#a": "title", "#b": "title"}, TEXT),
        ],
        [OK, "Two document paths overlap"],
    ),
    Case(
        "an overlapping expression, twice",
        [Call("SET title = :v, title = :v", None, TEXT)] * 2,
        ["Two document paths overlap"] * 2,
    ),
    Case(
        "two SET clauses, twice",
        [Call("SET title = :v SET code = :v", None, TEXT)] * 2,
        ['The "SET" section can only be used once'] * 2,
    ),
    Case(
        "a value of the wrong type after one of the right type",
        [Call("ADD visits :v", None, {":v": {"N": "1"}}), Call("ADD visits :v", None, TEXT)],
        [OK, "incorrect data type"],
    ),
    Case(
        "a value missing after it was given",
        [
            Call("SET title = :v, code = :w", None, {**TEXT, ":w": {"S": "y"}}),
            Call("SET title = :v, code = :w", None, TEXT),
        ],
        [OK, "attribute value used in expression is not defined"],
    ),
]


def _outcome(table: str, call: Call) -> str:
    arguments: dict[str, Any] = {
        "TableName": table,
        "Key": SESSION,
        "UpdateExpression": call.expression,
        "ExpressionAttributeValues": call.values,
    }
    if call.names is not None:
        arguments["ExpressionAttributeNames"] = call.names
    try:
        boto3.client("dynamodb").update_item(**arguments)
    except ClientError as error:
        return str(error.response["Error"]["Message"])
    return OK


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_call_gets_the_answer_moto_gives_it(moto_server: CreatedResources, case: Case) -> None:
    # Given the sessions table, whose key attributes are pk and sk
    table = moto_server.tables["SessionsTable"]
    # When the case's updates are made one after the other
    outcomes = [_outcome(table, call) for call in case.calls]
    # Then each is answered as moto answers it on its own: accepted, or refused for its own reason
    assert len(outcomes) == len(case.expected)
    for outcome, expected in zip(outcomes, case.expected, strict=True):
        assert expected in outcome, outcomes


def test_a_repeated_update_expression_keeps_applying_its_values(moto_server: CreatedResources) -> None:
    # Given the sessions table
    dynamodb = boto3.client("dynamodb")
    table = moto_server.tables["SessionsTable"]
    # When the same counter update is made three times with different increments
    for increment in ("1", "2", "4"):
        dynamodb.update_item(
            TableName=table,
            Key=SESSION,
            UpdateExpression="ADD #count :n SET #title = :t",
            ExpressionAttributeNames={"#count": "visits", "#title": "title"},
            ExpressionAttributeValues={":n": {"N": increment}, ":t": {"S": f"after {increment}"}},
        )
    # Then every call's values were applied
    item = dynamodb.get_item(TableName=table, Key=SESSION, ConsistentRead=True)["Item"]
    assert item["visits"] == {"N": "7"}
    assert item["title"] == {"S": "after 4"}


def test_a_repeated_list_append_extends_the_stored_list_each_time(moto_server: CreatedResources) -> None:
    # Given a session holding a list
    dynamodb = boto3.client("dynamodb")
    table = moto_server.tables["SessionsTable"]
    dynamodb.put_item(TableName=table, Item={**SESSION, "tags": {"L": [{"S": "a"}]}})
    # When the same list_append update is made twice
    for tag in ("b", "c"):
        dynamodb.update_item(
            TableName=table,
            Key=SESSION,
            UpdateExpression="SET tags = list_append(tags, :more)",
            ExpressionAttributeValues={":more": {"L": [{"S": tag}]}},
        )
    # Then the list holds every value, in order
    item = dynamodb.get_item(TableName=table, Key=SESSION, ConsistentRead=True)["Item"]
    assert item["tags"] == {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]}


@pytest.mark.parametrize(
    ("expected_names", "verdicts"),
    [(["Keynote", "Closing", "Keynote"], [OK, "conditional request failed", OK])],
)
def test_a_repeated_condition_is_checked_against_each_call_s_values(
    moto_server: CreatedResources, expected_names: list[str], verdicts: list[str]
) -> None:
    # Given a session named Keynote
    dynamodb = boto3.client("dynamodb")
    table = moto_server.tables["SessionsTable"]
    dynamodb.put_item(TableName=table, Item={**SESSION, "title": {"S": "Keynote"}})
    # When the same conditional update is made with different expected names
    outcomes = []
    for expected in expected_names:
        try:
            dynamodb.update_item(
                TableName=table,
                Key=SESSION,
                UpdateExpression="SET visits = :one",
                ConditionExpression="#t = :expected AND attribute_exists(pk)",
                ExpressionAttributeNames={"#t": "title"},
                ExpressionAttributeValues={":expected": {"S": expected}, ":one": {"N": "1"}},
            )
            outcomes.append(OK)
        except ClientError as error:
            outcomes.append(str(error.response["Error"]["Message"]))
    # Then each call's condition held or failed on its own values
    for outcome, verdict in zip(outcomes, verdicts, strict=True):
        assert verdict in outcome, outcomes


def test_a_condition_the_lexer_refuses_is_refused_every_time(moto_server: CreatedResources) -> None:
    # Given the sessions table
    dynamodb = boto3.client("dynamodb")
    table = moto_server.tables["SessionsTable"]
    # When a put whose condition cannot be lexed is made twice
    errors = []
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            dynamodb.put_item(
                TableName=table, Item=SESSION, ConditionExpression="attribute_not_exists(pk) AND $x"
            )
        errors.append(refused.value.response["Error"]["Code"])
    # Then both are refused alike (moto's own answer: its lexer's ValueError, a 500), and nothing is written
    assert errors[0] == errors[1]
    assert "Item" not in dynamodb.get_item(TableName=table, Key=SESSION, ConsistentRead=True)
