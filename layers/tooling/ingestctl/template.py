"""Read template.yaml and create its tables and queues in an AWS endpoint (moto in tests and locally).

template.yaml is the one source of truth: tests and the local stack never carry a second copy of a
key schema, index, TTL or redrive policy. Intrinsics are resolved just enough for these resources:
resource names are their logical ids.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

_TABLE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
)


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form intrinsics as `{"Fn::X": value}`."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return loaded


@functools.cache
def template_resources(path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = load_template(path)["Resources"]
    return resources


def resources_of_type(resource_type: str, path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template_resources(path).items() if res["Type"] == resource_type}


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    create_args: dict[str, Any]
    ttl_attribute: str | None


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    attributes: dict[str, str]
    dead_letter_target: str | None
    max_receive_count: int | None


def table_specs(path: Path = TEMPLATE_PATH) -> list[TableSpec]:
    specs = []
    for logical_id, resource in resources_of_type("AWS::DynamoDB::Table", path).items():
        props = resource["Properties"]
        args: dict[str, Any] = {"TableName": logical_id}
        args.update({key: props[key] for key in _TABLE_PROPERTIES if key in props})
        ttl = props.get("TimeToLiveSpecification") or {}
        ttl_attribute = ttl.get("AttributeName") if ttl.get("Enabled") else None
        specs.append(TableSpec(logical_id, args, ttl_attribute))
    return specs


def _ref_target(value: Any) -> str | None:
    """The logical id named by `!GetAtt X.Arn` or `!Ref X`."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        if "Ref" in value:
            return str(value["Ref"])
    return None


def queue_specs(path: Path = TEMPLATE_PATH) -> list[QueueSpec]:
    specs = []
    for logical_id, resource in resources_of_type("AWS::SQS::Queue", path).items():
        props = resource.get("Properties") or {}
        attributes = {
            key: str(props[key])
            for key in ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds")
            if key in props
        }
        redrive = props.get("RedrivePolicy") or {}
        target = _ref_target(redrive.get("deadLetterTargetArn"))
        max_receive = int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None
        specs.append(QueueSpec(logical_id, attributes, target, max_receive))
    # Dead-letter targets first, so their ARNs exist when a redrive policy names them.
    return sorted(specs, key=lambda spec: spec.dead_letter_target is not None)


@dataclass(frozen=True)
class CreatedResources:
    """Physical names of what `create_resources` made, keyed by logical id."""

    tables: dict[str, str]
    queue_urls: dict[str, str]

    def environment(self) -> dict[str, str]:
        """The environment variables template.yaml gives the functions, resolved to these resources."""
        return {
            "ENDPOINTS_TABLE": self.tables["EndpointsTable"],
            "REQUESTS_TABLE": self.tables["RequestsTable"],
            "SESSIONS_TABLE": self.tables["SessionsTable"],
            "INGEST_QUEUE_URL": self.queue_urls["IngestQueue"],
            "DEAD_LETTER_QUEUE_URL": self.queue_urls["IngestDeadLetterQueue"],
        }


def create_resources(dynamodb: Any, sqs: Any, path: Path = TEMPLATE_PATH) -> CreatedResources:
    """Create every table and queue of the template through the given boto3 clients."""
    tables = {}
    for spec in table_specs(path):
        dynamodb.create_table(**spec.create_args)
        if spec.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=spec.logical_id,
                TimeToLiveSpecification={"AttributeName": spec.ttl_attribute, "Enabled": True},
            )
        tables[spec.logical_id] = spec.logical_id
    queue_urls: dict[str, str] = {}
    for qspec in queue_specs(path):
        attributes = dict(qspec.attributes)
        if qspec.dead_letter_target:
            target_arn = sqs.get_queue_attributes(
                QueueUrl=queue_urls[qspec.dead_letter_target], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": target_arn, "maxReceiveCount": qspec.max_receive_count}
            )
        queue_urls[qspec.logical_id] = sqs.create_queue(QueueName=qspec.logical_id, Attributes=attributes)[
            "QueueUrl"
        ]
    return CreatedResources(tables, queue_urls)
