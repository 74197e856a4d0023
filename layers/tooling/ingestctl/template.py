"""Read template.yaml and create its tables and queues in an AWS endpoint (moto in tests and locally).

template.yaml is the one source of truth: tests and the local stack never carry a second copy of a
key schema, index, TTL or redrive policy. Resource names are their logical ids; `resolve_intrinsics`
resolves `!Ref`, `!GetAtt`, `!Sub`, `!Join` and `!Select` against the created resources, enough for the
functions' environment variables and event sources.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
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


DEFAULT_ACCOUNT_ID = "123456789012"


class UnresolvableIntrinsic(ValueError):
    """The template uses an intrinsic function or reference the local resolver cannot evaluate."""


@dataclass(frozen=True)
class CreatedResources:
    """Physical names of what `create_resources` made, keyed by logical id."""

    tables: dict[str, str]
    queue_urls: dict[str, str]
    arns: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    account_id: str = DEFAULT_ACCOUNT_ID

    def environment(self) -> dict[str, str]:
        """The environment variables template.yaml gives the functions, resolved to these resources."""
        return {
            "ENDPOINTS_TABLE": self.tables["EndpointsTable"],
            "REQUESTS_TABLE": self.tables["RequestsTable"],
            "SESSIONS_TABLE": self.tables["SessionsTable"],
            "INGEST_QUEUE_URL": self.queue_urls["IngestQueue"],
            "DEAD_LETTER_QUEUE_URL": self.queue_urls["IngestDeadLetterQueue"],
        }

    def ref(self, logical_id: str) -> str:
        """What `!Ref` returns: a table's name, a queue's URL."""
        if logical_id in self.tables:
            return self.tables[logical_id]
        if logical_id in self.queue_urls:
            return self.queue_urls[logical_id]
        raise UnresolvableIntrinsic(f"!Ref {logical_id}: not a table or queue of the local stack")

    def attribute(self, logical_id: str, name: str) -> str:
        """What `!GetAtt logical_id.name` returns, for the attributes tables and queues have."""
        values = {"Arn": self.arns.get(logical_id)}
        if logical_id in self.queue_urls:
            values["QueueUrl"] = self.queue_urls[logical_id]
            values["QueueName"] = self.queue_urls[logical_id].rsplit("/", 1)[-1]
        value = values.get(name)
        if value is None:
            raise UnresolvableIntrinsic(f"!GetAtt {logical_id}.{name}: not available in the local stack")
        return value


_NO_VALUE = object()  # what `!Ref AWS::NoValue` resolves to: the property is left out
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def resolve_intrinsics(
    value: Any,
    created: CreatedResources,
    parameters: dict[str, str] | None = None,
    variables: dict[str, str] | None = None,
    conditions: dict[str, Any] | None = None,
) -> Any:
    """Evaluate the intrinsic functions in `value` against the local resources and parameter values.

    `conditions` are the template's Conditions section, for `Fn::If`; `AWS::NoValue` drops the property.
    """
    params = parameters or {}
    condition_source = conditions or {}
    pseudo = {
        "AWS::Region": created.region,
        "AWS::AccountId": created.account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": "local",
    }

    def ref(name: str) -> str:
        if variables and name in variables:
            return variables[name]
        if name in pseudo:
            return pseudo[name]
        if name in params:
            return params[name]
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return created.attribute(logical_id, attribute)
        return created.ref(name)

    def named_condition(name: str) -> bool:
        if name not in condition_source:
            raise UnresolvableIntrinsic(f"condition {name!r} is not in the template's Conditions")
        return condition(condition_source[name])

    def condition(expression: Any) -> bool:
        if isinstance(expression, str):
            return named_condition(expression)
        ((name, argument),) = expression.items()
        if name == "Condition":
            return named_condition(argument)
        if name == "Fn::Equals":
            return str(resolve(argument[0])) == str(resolve(argument[1]))
        if name == "Fn::Not":
            return not condition(argument[0])
        if name == "Fn::And":
            return all(condition(item) for item in argument)
        if name == "Fn::Or":
            return any(condition(item) for item in argument)
        raise UnresolvableIntrinsic(f"{name} is not a condition function")

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in map(resolve, node) if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not (next(iter(node)) == "Ref" or next(iter(node)).startswith("Fn::")):
            resolved = {key: resolve(item) for key, item in node.items()}
            return {key: item for key, item in resolved.items() if item is not _NO_VALUE}
        ((name, argument),) = node.items()
        if name == "Ref" and argument == "AWS::NoValue":
            return _NO_VALUE
        if name == "Ref":
            return ref(str(argument))
        if name == "Fn::If":
            name_of_condition, if_true, if_false = argument
            return resolve(if_true if condition(name_of_condition) else if_false)
        if name == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return created.attribute(str(logical_id), str(attribute))
        if name == "Fn::Sub":
            text, extra = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            local_vars = {**(variables or {}), **{k: str(resolve(v)) for k, v in extra.items()}}
            substituted = _SUB_VARIABLE.sub(
                lambda match: str(resolve_intrinsics({"Ref": match.group(1)}, created, params, local_vars)),
                text,
            )
            return substituted.replace("${!", "${")  # `${!Literal}` stands for the text `${Literal}`
        if name == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(str(item) for item in resolve(items))
        if name == "Fn::Select":
            index, items = resolve(argument)
            return items[int(index)]
        raise UnresolvableIntrinsic(f"{name} is not supported by the local stack")

    return resolve(value)


def parameter_defaults(path: Path = TEMPLATE_PATH) -> dict[str, str]:
    """The template's parameters at their default values (what `sam deploy` uses without overrides)."""
    parameters = load_template(path).get("Parameters") or {}
    return {name: str(spec["Default"]) for name, spec in parameters.items() if "Default" in spec}


def create_resources(dynamodb: Any, sqs: Any, path: Path = TEMPLATE_PATH) -> CreatedResources:
    """Create every table and queue of the template through the given boto3 clients."""
    tables: dict[str, str] = {}
    arns: dict[str, str] = {}
    for spec in table_specs(path):
        description = dynamodb.create_table(**spec.create_args)["TableDescription"]
        if spec.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=spec.logical_id,
                TimeToLiveSpecification={"AttributeName": spec.ttl_attribute, "Enabled": True},
            )
        tables[spec.logical_id] = spec.logical_id
        arns[spec.logical_id] = description["TableArn"]
    queue_urls: dict[str, str] = {}
    for qspec in queue_specs(path):
        attributes = dict(qspec.attributes)
        if qspec.dead_letter_target:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": arns[qspec.dead_letter_target],
                    "maxReceiveCount": qspec.max_receive_count,
                }
            )
        url = sqs.create_queue(QueueName=qspec.logical_id, Attributes=attributes)["QueueUrl"]
        queue_urls[qspec.logical_id] = url
        arns[qspec.logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    account_id = next(iter(arns.values()), "").split(":")[4] if arns else DEFAULT_ACCOUNT_ID
    return CreatedResources(
        tables, queue_urls, arns, dynamodb.meta.region_name, account_id or DEFAULT_ACCOUNT_ID
    )
