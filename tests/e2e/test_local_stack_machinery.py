"""The local stack's emulation (API Gateway, Lambda environments, SQS event source, EMF) over real HTTP,
on a small fixture template whose functions report what they received."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingestctl.local.moto_server import PortInUse
from ingestctl.local.stack import LocalStack, StackOptions
from tests.e2e.conftest import FIXTURE_TEMPLATE, eventually, http

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _echo(machinery: LocalStack, path: str, **kwargs: Any) -> dict[str, Any]:
    answer = http("POST", machinery.api_url + path, **kwargs)
    assert answer.status == 201, answer.body
    received: dict[str, Any] = answer.json
    return received


def test_a_request_reaches_the_function_as_an_api_gateway_proxy_event(machinery: LocalStack) -> None:
    # Given a route /items/{item_id} of the template
    # When a client posts to it with a query string and a header
    answer = http(
        "POST",
        machinery.api_url + "/items/abc?tag=1&tag=2",
        body=b'{"a": 1}',
        headers={"Content-Type": "application/json", "X-Custom": "yes"},
    )
    # Then the function receives the proxy event API Gateway would send
    event = answer.json["event"]
    assert event["resource"] == "/items/{item_id}"
    assert event["path"] == "/items/abc"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"item_id": "abc"}
    assert event["queryStringParameters"] == {"tag": "2"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["1", "2"]}
    assert event["headers"]["X-Custom"] == "yes"
    assert event["multiValueHeaders"]["X-Custom"] == ["yes"]
    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["stage"] == "Prod"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    # And the request id API Gateway answers with is the one the function saw
    assert answer.header("x-amzn-RequestId") == event["requestContext"]["requestId"]


def test_a_body_that_is_not_utf8_arrives_base64_encoded(machinery: LocalStack) -> None:
    # Given a binary body
    raw = b"\xff\xfe\x00binary"
    # When it is posted
    event = _echo(machinery, "/items/bin", body=raw, headers={"Content-Type": "application/octet-stream"})[
        "event"
    ]
    # Then the function gets it base64-encoded, flagged as such
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_a_literal_resource_wins_over_a_path_parameter(machinery: LocalStack) -> None:
    # Given /items/latest/detail and /items/{item_id}/detail both GET routes
    # When /items/latest/detail is requested
    answer = http("GET", machinery.api_url + "/items/latest/detail")
    # Then the literal resource is chosen, as API Gateway does
    assert answer.json["event"]["resource"] == "/items/latest/detail"
    assert answer.json["event"]["pathParameters"] is None


def test_a_greedy_path_parameter_takes_the_rest_of_the_path(machinery: LocalStack) -> None:
    # Given the route /files/{path+} for any method
    # When a nested path is deleted
    answer = http("DELETE", machinery.api_url + "/files/a/b/c.txt")
    # Then the parameter holds the whole remainder
    assert answer.json["event"]["pathParameters"] == {"path": "a/b/c.txt"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("GET", "/items/abc"), ("POST", "/items/abc/detail")],
    ids=["unknown path", "wrong method", "wrong method on nested resource"],
)
def test_an_unknown_route_gets_api_gateways_missing_authentication_token(
    machinery: LocalStack, method: str, path: str
) -> None:
    # Given no route for this method and path
    # When it is requested
    answer = http(method, machinery.api_url + path)
    # Then API Gateway itself answers 403, as a REST API does
    assert answer.status == 403
    assert answer.json == {"message": "Missing Authentication Token"}


def test_the_functions_context_and_environment_come_from_the_template(machinery: LocalStack) -> None:
    # Given EchoFunction: 192 MB from Globals, 10 s timeout, variables with !Sub and !GetAtt
    # When it is invoked
    received = _echo(machinery, "/items/env")
    # Then its context and environment are those the template gives it
    assert received["context"]["function_name"] == "EchoFunction"
    assert received["context"]["memory_limit_in_mb"] == "192"
    assert 0 < received["context"]["remaining_ms"] <= 10_000
    assert received["environment"] == {
        "GREETING": "hello from test in eu-west-1",
        "QUEUE_ARN": "arn:aws:sqs:eu-west-1:123456789012:WorkQueue",
        "TABLE_NAME": "ItemsTable",
        "TZ": ":UTC",
    }


def test_multi_value_response_headers_are_all_sent(machinery: LocalStack) -> None:
    # Given a function answering Set-Cookie in both headers and multiValueHeaders
    # When it is called
    answer = http("POST", machinery.api_url + "/items/cookies")
    # Then the multi-value headers win, every value sent; single headers are kept
    assert answer.headers["Set-Cookie"] == ["a=1", "b=2"]
    assert answer.header("X-Single") == "one"


@pytest.mark.parametrize("path", ["/items/boom", "/items/malformed"], ids=["exception", "malformed response"])
def test_a_function_error_is_api_gateways_502(machinery: LocalStack, path: str) -> None:
    # Given a function that raises, or answers without a statusCode
    # When it is called
    answer = http("POST", machinery.api_url + path)
    # Then API Gateway answers 502 Internal server error
    assert answer.status == 502
    assert answer.json == {"message": "Internal server error"}


def test_a_function_past_its_timeout_fails_and_its_environment_is_replaced(machinery: LocalStack) -> None:
    # Given EchoFunction's 10 s timeout and a call that sleeps far longer
    # When it is called
    answer = http("POST", machinery.api_url + "/items/slow")
    # Then the caller gets a 502 and the next call is served by a fresh environment
    assert answer.status == 502
    assert http("POST", machinery.api_url + "/items/after-timeout").status == 201


def _item(machinery: LocalStack, key: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        machinery.client("dynamodb").get_item(TableName="ItemsTable", Key={"pk": {"S": key}}).get("Item")
    )
    return item


def test_queued_messages_reach_the_consumer_as_an_sqs_event(machinery: LocalStack) -> None:
    # Given a message with an attribute on the function's queue
    sqs = machinery.client("sqs")
    queue_url = sqs.get_queue_url(QueueName="WorkQueue")["QueueUrl"]
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody="item-sqs-shape",
        MessageAttributes={"request_id": {"DataType": "String", "StringValue": "r-1"}},
    )
    # When the poller hands it to the function
    item = eventually(lambda: _item(machinery, "item-sqs-shape"))
    # Then the record has Lambda's shape: receive count, source ARN, attributes in camelCase
    assert item["receive_count"] == {"S": "1"}
    assert item["event_source_arn"] == {"S": "arn:aws:sqs:eu-west-1:123456789012:WorkQueue"}
    assert json.loads(item["attribute"]["S"]) == {
        "request_id": {
            "stringValue": "r-1",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }


def _dead_letters(machinery: LocalStack) -> list[str]:
    sqs = machinery.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName="WorkDeadLetterQueue")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    )
    return [message["Body"] for message in messages]


def test_a_reported_failure_is_redelivered_then_dead_lettered_while_its_batch_mates_succeed(
    machinery: LocalStack,
) -> None:
    # Given a poison message sent together with a good one (redrive after 2 receives, visibility 1 s)
    sqs = machinery.client("sqs")
    queue_url = sqs.get_queue_url(QueueName="WorkQueue")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": "1", "MessageBody": "poison"}, {"Id": "2", "MessageBody": "item-next-to-poison"}],
    )
    # When the consumer reports the poison message in batchItemFailures
    # Then its batch mate is stored once, and the poison message ends in the dead-letter queue
    eventually(lambda: _item(machinery, "item-next-to-poison"))
    assert eventually(lambda: "poison" in _dead_letters(machinery))


def test_an_exception_fails_the_whole_batch(machinery: LocalStack) -> None:
    # Given a good message batched with one that makes the handler raise (sent together, so the 1 s
    # batching window hands them over together)
    sqs = machinery.client("sqs")
    queue_url = sqs.get_queue_url(QueueName="WorkQueue")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": "1", "MessageBody": "explode"}, {"Id": "2", "MessageBody": "item-next-to-explode"}],
    )

    # When the handler raises
    def fate() -> tuple[str, str] | None:
        item = _item(machinery, "item-next-to-explode")
        if item:
            return ("stored on receive", item["receive_count"]["S"])
        return ("dead-lettered", "") if "item-next-to-explode" in _dead_letters(machinery) else None

    # Then the good message was not deleted with the failed batch: it came back (or was dead-lettered with it)
    assert eventually(fate) != ("stored on receive", "1")


def test_emf_metrics_printed_by_a_function_land_in_local_cloudwatch(machinery: LocalStack) -> None:
    # Given a function that prints an EMF document per batch
    sqs = machinery.client("sqs")
    queue_url = sqs.get_queue_url(QueueName="WorkQueue")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="item-metric")
    eventually(lambda: _item(machinery, "item-metric"))
    # When CloudWatch is asked for the metric
    cloudwatch = machinery.client("cloudwatch")

    def stored() -> float:
        now = datetime.now(tz=UTC)
        points = cloudwatch.get_metric_statistics(
            Namespace="Fixture",
            MetricName="ItemsStored",
            Dimensions=[{"Name": "service", "Value": "fixture"}],
            StartTime=now - timedelta(minutes=10),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return float(sum(point["Sum"] for point in points))

    # Then the printed values are there, with the document's dimensions
    assert eventually(stored) >= 1


def test_a_port_already_in_use_is_a_clear_error(machinery: LocalStack) -> None:
    # Given the machinery stack's API port, in use
    busy = StackOptions(port=machinery.api_port, aws_port=machinery.aws_port, template=FIXTURE_TEMPLATE)
    # When another stack is started on it
    # Then it fails before starting anything, naming the port
    with pytest.raises(PortInUse, match=str(machinery.api_port)):
        LocalStack(busy).start()


def test_a_stack_on_port_zero_serves_on_the_ports_it_reports(machinery: LocalStack) -> None:
    # Given the machinery stack, started with port 0 for both its API and its AWS endpoint
    assert (machinery.options.port, machinery.options.aws_port) == (0, 0)
    # When its reported URLs are called
    api = http("POST", machinery.api_url + "/items/abc", body=b"{}")
    aws = http("GET", machinery.aws_endpoint_url + "/moto-api/data.json")
    # Then the API and moto answer there, on ports the OS gave
    assert api.status == 201
    assert aws.status == 200
    assert 0 not in (machinery.api_port, machinery.aws_port)
    assert machinery.api_url.endswith(f":{machinery.api_port}")
    assert machinery.aws_endpoint_url.endswith(f":{machinery.aws_port}")
