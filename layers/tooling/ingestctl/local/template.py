"""Read template.yaml and create its tables and queues in an AWS endpoint (moto in tests and locally).

template.yaml is the one source of truth: tests and the local stack never carry a second copy of a
key schema, index, TTL or redrive policy. Intrinsics are resolved the way CloudFormation would with the
parameters' defaults (`Ref` to a parameter, `Fn::If` over the template's Conditions, `AWS::NoValue`);
resource names are their logical ids. `resolve_intrinsics` also evaluates `Ref`, `Fn::GetAtt`,
`Fn::Sub`, `Fn::Join` and `Fn::Select` against the created resources (the local stack's function
environments). A table or queue property this module cannot reproduce is an error, so a new property
in the template forces a decision here instead of drifting silently.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[4]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

# Table properties passed to CreateTable unchanged (CloudFormation and the API spell them alike).
_TABLE_CREATE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
    "DeletionProtectionEnabled",
    "TableClass",
    "Tags",
)
# Handled by dedicated code below.
_TABLE_SPECIAL_PROPERTIES = (
    "TableName",
    "SSESpecification",
    "StreamSpecification",
    "TimeToLiveSpecification",
    "PointInTimeRecoverySpecification",
)
# Deployed-only concerns with no effect on what the code can observe locally.
_TABLE_IGNORED_PROPERTIES = ("ContributorInsightsSpecification", "ResourcePolicy", "WarmThroughput")

# Queue properties that are SQS queue attributes of the same name.
_QUEUE_ATTRIBUTE_PROPERTIES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "DelaySeconds",
    "MaximumMessageSize",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
)
_QUEUE_SPECIAL_PROPERTIES = ("QueueName", "RedrivePolicy", "Tags")


class UnsupportedTemplateProperty(ValueError):
    """template.yaml gives a table or queue a property the local stack cannot reproduce."""


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form intrinsics as `{"Fn::X": value}`."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
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


# ------------------------------------------------------------------------------------------ intrinsics

_NO_VALUE = object()


class _Resolver:
    """Evaluates `Ref` (parameters, AWS::NoValue), `Fn::If` and the condition functions.

    Other intrinsics (`Fn::GetAtt`, `Fn::Sub`, ...) are left as they are: the callers interpret the few
    they need (a redrive target's `Fn::GetAtt`).
    """

    def __init__(self, template: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> None:
        declared: Mapping[str, Any] = template.get("Parameters") or {}
        self.parameters: dict[str, Any] = {
            name: spec["Default"] for name, spec in declared.items() if "Default" in spec
        }
        self.parameters.update(overrides or {})
        self._conditions_source: Mapping[str, Any] = template.get("Conditions") or {}
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self._conditions_source:
                raise KeyError(f"unknown condition {name!r}")
            self._conditions[name] = self._evaluate(self._conditions_source[name])
        return self._conditions[name]

    def _evaluate(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            ((function, args),) = expression.items()
            if function == "Condition":
                return self.condition(args)
            if function == "Fn::Equals":
                left, right = (self.resolve(arg) for arg in args)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not self._evaluate(args[0])
            if function == "Fn::And":
                return all(self._evaluate(arg) for arg in args)
            if function == "Fn::Or":
                return any(self._evaluate(arg) for arg in args)
        raise ValueError(f"unsupported condition expression: {expression!r}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, args),) = value.items()
            if key == "Ref":
                if args == "AWS::NoValue":
                    return _NO_VALUE
                if args in self.parameters:
                    return self.parameters[args]
            elif key == "Fn::If":
                condition, when_true, when_false = args
                return self.resolve(when_true if self.condition(condition) else when_false)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}


def resolve_value(
    template: Mapping[str, Any], value: Any, parameter_overrides: Mapping[str, str] | None = None
) -> Any:
    """`value` (any part of `template`, e.g. its Globals) with parameters and conditions resolved."""
    return _Resolver(template, parameter_overrides).resolve(value)


def resolved_resources(
    path: Path = TEMPLATE_PATH, parameter_overrides: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """The template's resources with parameters and conditions resolved (defaults unless overridden).

    Resources whose own `Condition` is false are left out, as CloudFormation would.
    """
    template = load_template(path)
    resolver = _Resolver(template, parameter_overrides)
    resources: dict[str, dict[str, Any]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        resources[logical_id] = resolver.resolve(resource)
    return resources


@functools.cache
def template_resources(path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    """The resolved resources with the parameters' defaults (cached: the template does not change)."""
    return resolved_resources(path)


def resources_of_type(resource_type: str, path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template_resources(path).items() if res["Type"] == resource_type}


# ------------------------------------------------------------------------------------------ specs


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    create_args: dict[str, Any]
    ttl_attribute: str | None
    point_in_time_recovery: bool = False


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    attributes: dict[str, str]
    dead_letter_target: str | None
    max_receive_count: int | None
    tags: dict[str, str] | None = None


def _check_known(logical_id: str, props: Mapping[str, Any], *known: tuple[str, ...]) -> None:
    allowed = {name for group in known for name in group}
    unknown = sorted(set(props) - allowed)
    if unknown:
        raise UnsupportedTemplateProperty(
            f"{logical_id}: {', '.join(unknown)} not reproduced locally; teach ingestctl/local/template.py"
        )


def _table_create_args(logical_id: str, props: Mapping[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {"TableName": logical_id}
    args.update({key: props[key] for key in _TABLE_CREATE_PROPERTIES if key in props})
    sse = props.get("SSESpecification")
    if sse is not None:
        args["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled", False))}
        args["SSESpecification"].update(
            {key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse}
        )
    stream = props.get("StreamSpecification")
    if stream is not None:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return args


def table_specs(path: Path = TEMPLATE_PATH) -> list[TableSpec]:
    specs = []
    for logical_id, resource in resources_of_type("AWS::DynamoDB::Table", path).items():
        props = resource["Properties"]
        _check_known(
            logical_id, props, _TABLE_CREATE_PROPERTIES, _TABLE_SPECIAL_PROPERTIES, _TABLE_IGNORED_PROPERTIES
        )
        ttl = props.get("TimeToLiveSpecification") or {}
        ttl_attribute = ttl.get("AttributeName") if ttl.get("Enabled") else None
        pitr = bool((props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"))
        specs.append(TableSpec(logical_id, _table_create_args(logical_id, props), ttl_attribute, pitr))
    return specs


def _ref_target(value: Any) -> str | None:
    """The logical id named by `!GetAtt X.Arn` or `!Ref X`."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        if "Ref" in value:
            return str(value["Ref"])
    return None


def _attribute_value(value: Any) -> str:
    """SQS attributes are strings; CloudFormation booleans become "true"/"false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def queue_specs(path: Path = TEMPLATE_PATH) -> list[QueueSpec]:
    specs = []
    for logical_id, resource in resources_of_type("AWS::SQS::Queue", path).items():
        props = resource.get("Properties") or {}
        _check_known(logical_id, props, _QUEUE_ATTRIBUTE_PROPERTIES, _QUEUE_SPECIAL_PROPERTIES)
        attributes = {
            key: _attribute_value(props[key]) for key in _QUEUE_ATTRIBUTE_PROPERTIES if key in props
        }
        redrive = props.get("RedrivePolicy") or {}
        target = _ref_target(redrive.get("deadLetterTargetArn"))
        max_receive = int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None
        tags = {tag["Key"]: str(tag["Value"]) for tag in props.get("Tags", [])} or None
        specs.append(QueueSpec(logical_id, attributes, target, max_receive, tags))
    # Dead-letter targets first, so their ARNs exist when a redrive policy names them.
    return sorted(specs, key=lambda spec: spec.dead_letter_target is not None)


def ingest_max_receive_count(path: Path = TEMPLATE_PATH) -> int:
    """The ingest queue's maxReceiveCount (the consumer's MAX_RECEIVE_COUNT)."""
    (count,) = (spec.max_receive_count for spec in queue_specs(path) if spec.logical_id == "IngestQueue")
    assert count is not None, "IngestQueue has no redrive policy"
    return count


# ------------------------------------------------------------------------------------------ create


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
            "MAX_RECEIVE_COUNT": str(ingest_max_receive_count()),
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
    condition_resolver = _Resolver({"Conditions": conditions or {}}, params)
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
            return str(params[name])
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return created.attribute(logical_id, attribute)
        return created.ref(name)

    def condition(name: str) -> bool:
        try:
            return condition_resolver.condition(name)
        except (KeyError, ValueError) as error:
            raise UnresolvableIntrinsic(f"condition {name!r}: {error}") from error

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


def _create_table(dynamodb: Any, spec: TableSpec) -> str:
    """Create the table (with its TTL and PITR settings); its ARN."""
    arn: str = dynamodb.create_table(**spec.create_args)["TableDescription"]["TableArn"]
    if spec.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=spec.logical_id,
            TimeToLiveSpecification={"AttributeName": spec.ttl_attribute, "Enabled": True},
        )
    if spec.point_in_time_recovery:
        dynamodb.update_continuous_backups(
            TableName=spec.logical_id,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return arn


def create_resources(dynamodb: Any, sqs: Any, path: Path = TEMPLATE_PATH) -> CreatedResources:
    """Create every table and queue of the template through the given boto3 clients."""
    tables: dict[str, str] = {}
    arns: dict[str, str] = {}
    for spec in table_specs(path):
        arns[spec.logical_id] = _create_table(dynamodb, spec)
        tables[spec.logical_id] = spec.logical_id
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
        create_args: dict[str, Any] = {"QueueName": qspec.logical_id, "Attributes": attributes}
        if qspec.tags:
            create_args["tags"] = qspec.tags
        url = sqs.create_queue(**create_args)["QueueUrl"]
        queue_urls[qspec.logical_id] = url
        arns[qspec.logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    account_id = next(iter(arns.values())).split(":")[4] if arns else DEFAULT_ACCOUNT_ID
    return CreatedResources(
        tables, queue_urls, arns, dynamodb.meta.region_name, account_id or DEFAULT_ACCOUNT_ID
    )
