"""Fixture API function: answers with what it received, or misbehaves on request (by path)."""

import json
import os
import time

import boto3


def lambda_handler(event, context):
    path = event["path"]
    if path.endswith("/boom"):
        raise RuntimeError("boom")
    if path.endswith("/malformed"):
        return {"body": "no status code"}
    if path.endswith("/slow"):
        time.sleep(600)  # past the function's timeout: the emulator ends the environment
    if path.endswith("/enqueue"):
        boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=event["body"])
    received = {
        "event": event,
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "environment": {name: os.environ.get(name) for name in ("GREETING", "QUEUE_ARN", "TABLE_NAME", "TZ")},
    }
    return {
        "statusCode": 201,
        "headers": {"X-Single": "one", "Set-Cookie": "ignored=1"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(received),
    }
