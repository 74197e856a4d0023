"""Where ingestctl finds the service's tables and queues.

In order: environment variables (the names template.yaml gives the functions), then the outputs of a
deployed stack (`--stack NAME`), then the local stack's names (the template's logical ids), so that with
only AWS_ENDPOINT_URL pointing at `ingestctl local up` every command works without flags.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from session_ingest.adapters.aws import client, reset_clients
from session_ingest.settings import Settings, get_settings


class ResourcesUnknown(Exception):
    """The service's tables and queues cannot be named (a stack without the outputs, bad settings)."""


# Stack output name -> environment variable / Settings field.
STACK_OUTPUTS = {
    "EndpointsTableName": "ENDPOINTS_TABLE",
    "RequestsTableName": "REQUESTS_TABLE",
    "SessionsTableName": "SESSIONS_TABLE",
    "IngestQueueUrl": "INGEST_QUEUE_URL",
    "DeadLetterQueueUrl": "DEAD_LETTER_QUEUE_URL",
}
LOCAL_TABLE_NAMES = {
    "ENDPOINTS_TABLE": "EndpointsTable",
    "REQUESTS_TABLE": "RequestsTable",
    "SESSIONS_TABLE": "SessionsTable",
}
LOCAL_QUEUE_NAMES = {"INGEST_QUEUE_URL": "IngestQueue", "DEAD_LETTER_QUEUE_URL": "IngestDeadLetterQueue"}


def stack_description(stack_name: str) -> dict[str, Any]:
    """The deployed stack as DescribeStacks gives it (outputs, parameters)."""
    stack: dict[str, Any] = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    return stack


def _stack_outputs(stack_name: str) -> dict[str, str]:
    stack = stack_description(stack_name)
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    found = {env: outputs[key] for key, env in STACK_OUTPUTS.items() if key in outputs}
    if not found:
        raise ResourcesUnknown(f"stack {stack_name} has none of the outputs {', '.join(STACK_OUTPUTS)}")
    return found


def _local_defaults(missing: set[str]) -> dict[str, str]:
    values = {env: name for env, name in LOCAL_TABLE_NAMES.items() if env in missing}
    for env, queue_name in LOCAL_QUEUE_NAMES.items():
        if env in missing:
            values[env] = client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
    return values


def configure(stack_name: str | None = None) -> Settings:
    """Fill in the resource environment variables ingestctl needs, and return the settings they make."""
    wanted = set(STACK_OUTPUTS.values())
    if stack_name:
        for env, value in _stack_outputs(stack_name).items():
            os.environ.setdefault(env, value)
    missing = {env for env in wanted if not os.environ.get(env)}
    if missing:
        os.environ.update(_local_defaults(missing))
    reset_clients()
    get_settings.cache_clear()
    try:
        return get_settings()
    except ValidationError as error:
        problems = ", ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        raise ResourcesUnknown(f"invalid resource settings ({problems})") from error
