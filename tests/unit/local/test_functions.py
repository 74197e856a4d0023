"""The local stack reads the functions, their events and environment from template.yaml."""

from __future__ import annotations

import pytest

from ingestctl.local.functions import function_specs
from ingestctl.local.template import (
    REPO_ROOT,
    CreatedResources,
    UnresolvableIntrinsic,
    parameter_defaults,
    resolve_intrinsics,
)

CREATED = CreatedResources(
    tables={"SessionsTable": "SessionsTable"},
    queue_urls={"IngestQueue": "http://localhost:5000/123456789012/IngestQueue"},
    arns={"IngestQueue": "arn:aws:sqs:eu-west-1:123456789012:IngestQueue"},
    region="eu-west-1",
)


def test_the_consumer_is_fed_by_the_ingest_queue_with_the_templates_batching() -> None:
    # Given the repository's template
    specs = {spec.logical_id: spec for spec in function_specs()}
    # When the consumer's event source is read
    (source,) = specs["IngestConsumerFunction"].sqs_sources
    # Then it is the ingest queue, with the template's batch size, window and partial batch responses
    assert resolve_intrinsics(source.queue, CREATED) == CREATED.arns["IngestQueue"]
    assert source.batch_size == 10
    assert source.report_batch_item_failures is True


def test_the_ingest_api_serves_the_spec_routes_from_its_code_uri() -> None:
    # Given the repository's template
    specs = {spec.logical_id: spec for spec in function_specs()}
    api = specs["IngestApiFunction"]
    # When its routes and code location are read
    routes = {(route.method, route.path) for route in api.api_routes}
    # Then they are contract §4's calls, served by the handler module in functions/ingest_api
    assert ("POST", "/api/webhook/ingest/{endpoint_id}") in routes
    assert ("POST", "/api/webhook/ingest/{endpoint_id}/test") in routes
    assert ("GET", "/api/webhook/ingest/{endpoint_id}/requests/{request_id}") in routes
    assert api.code_dir == REPO_ROOT / "functions" / "ingest_api"
    assert (api.code_dir / f"{api.handler_module}.py").name == "ingest_api_handler.py"


def test_globals_give_every_function_its_limits_and_environment() -> None:
    # Given the template's Globals
    for spec in function_specs():
        # When a function's settings are resolved against local resources
        # Then the Globals' memory and the resource variables are there
        assert spec.memory_mb >= 128
        assert spec.environment["SESSIONS_TABLE"] == {"Ref": "SessionsTable"}
        assert spec.environment["POWERTOOLS_SERVICE_NAME"] == "session-ingest"


@pytest.mark.parametrize(
    ("value", "resolved"),
    [
        ({"Ref": "SessionsTable"}, "SessionsTable"),
        ({"Ref": "IngestQueue"}, CREATED.queue_urls["IngestQueue"]),
        ({"Fn::GetAtt": ["IngestQueue", "Arn"]}, CREATED.arns["IngestQueue"]),
        ({"Fn::GetAtt": ["IngestQueue", "QueueName"]}, "IngestQueue"),
        (
            {"Fn::Sub": "${AWS::Region}/${Stage}/${IngestQueue.Arn}"},
            f"eu-west-1/dev/{CREATED.arns['IngestQueue']}",
        ),
        ({"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Stage"}}]}, "dev-x"),
        ({"Fn::Sub": "${!Literal}"}, "${Literal}"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}, "a-dev"),
        ({"Fn::Select": [1, ["a", "b"]]}, "b"),
        ({"Nested": [{"Ref": "Stage"}]}, {"Nested": ["dev"]}),
        ({"A": {"Ref": "AWS::NoValue"}, "B": [1, {"Ref": "AWS::NoValue"}]}, {"B": [1]}),
    ],
)
def test_intrinsics_resolve_against_the_local_resources(value: object, resolved: object) -> None:
    # Given created resources and the template's parameter defaults
    parameters = parameter_defaults()
    # When an intrinsic is resolved
    # Then it names the local resource
    assert resolve_intrinsics(value, CREATED, parameters) == resolved


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "NoSuchThing"},
        {"Fn::GetAtt": ["SessionsTable", "StreamArn"]},
        {"Fn::If": ["NoSuchCondition", 1, 2]},
        {"Fn::ImportValue": "other-stack-output"},
    ],
)
def test_an_intrinsic_the_local_stack_cannot_evaluate_is_a_clear_error(value: object) -> None:
    # Given an intrinsic outside what the local stack emulates
    # When it is resolved
    # Then the error names it
    with pytest.raises(UnresolvableIntrinsic):
        resolve_intrinsics(value, CREATED, {})


@pytest.mark.parametrize(("stage", "expected"), [("prod", "on"), ("dev", "off")])
def test_fn_if_follows_the_templates_conditions(stage: str, expected: str) -> None:
    # Given a condition on a parameter
    conditions = {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
    }
    # When an Fn::If on it is resolved
    value = {"Fn::If": ["NotProd", "off", "on"]}
    # Then the branch the condition selects is taken
    assert resolve_intrinsics(value, CREATED, {"Stage": stage}, conditions=conditions) == expected
