"""Fixture SQS function: stores each body; `poison` bodies fail alone, `explode` fails the batch."""

import json
import os
import time

import boto3


def lambda_handler(event, context):
    if any(record["body"] == "explode" for record in event["Records"]):
        raise RuntimeError("explode")
    failures = []
    table = boto3.client("dynamodb")
    for record in event["Records"]:
        if record["body"] == "poison":
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        table.put_item(
            TableName=os.environ["TABLE_NAME"],
            Item={
                "pk": {"S": record["body"]},
                "receive_count": {"S": record["attributes"]["ApproximateReceiveCount"]},
                "event_source_arn": {"S": record["eventSourceARN"]},
                "attribute": {"S": json.dumps(record["messageAttributes"])},
            },
        )
    # One EMF document, as Powertools Metrics prints it.
    print(
        json.dumps(
            {
                "_aws": {
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": "Fixture",
                            "Dimensions": [["service"]],
                            "Metrics": [{"Name": "ItemsStored", "Unit": "Count"}],
                        }
                    ],
                },
                "service": "fixture",
                "ItemsStored": len(event["Records"]) - len(failures),
            }
        )
    )
    return {"batchItemFailures": failures}
