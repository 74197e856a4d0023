"""template.yaml keeps the production rules of issue 6 and contract §2/§8 (read statically, no AWS)."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from typing import Any

import pytest

from ingestctl.local.template import REPO_ROOT, load_template, resolved_resources
from ingestctl.resources import STACK_OUTPUTS

TEMPLATE = load_template()
RESOURCES = resolved_resources()
FUNCTIONS = ("IngestApiFunction", "IngestConsumerFunction")
SPEC_METRICS = (
    "RequestsAccepted",
    "RequestsRejected",
    "SessionsCreated",
    "SessionsUpdated",
    "RecordsFailed",
    "DuplicateOrganisationUid",
    "StaleFieldsSkipped",
    "AcceptToProcessedLatency",
)


def of_type(resource_type: str, resources: dict[str, Any] = RESOURCES) -> dict[str, Any]:
    return {name: res for name, res in resources.items() if res["Type"] == resource_type}


def function_property(function: str, name: str) -> Any:
    """A function's property, falling back to the template's Globals as SAM does."""
    own = RESOURCES[function]["Properties"]
    return own[name] if name in own else TEMPLATE["Globals"]["Function"][name]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_functions_run_python_313_on_arm64_by_default(function: str) -> None:
    # Given the function and the template's Globals
    # When its runtime and architecture are read
    runtime = function_property(function, "Runtime")
    architectures = function_property(function, "Architectures")
    # Then it is python3.13 on the Architecture parameter, whose default is arm64
    assert runtime == "python3.13"
    assert architectures == [{"Ref": "Architecture"}]
    assert TEMPLATE["Parameters"]["Architecture"]["Default"] == "arm64"


def test_the_layer_is_built_by_sam_for_the_same_runtime_and_architecture() -> None:
    # Given the core layer
    layer = TEMPLATE["Resources"]["CoreLayer"]
    # When its build metadata is read
    # Then SAM builds it with pip for python3.13 on the functions' architecture
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": {"Ref": "Architecture"}}
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]


def test_the_queue_hides_a_message_for_at_least_six_consumer_timeouts_and_redrives_after_five() -> None:
    # Given the consumer and its queue
    timeout = RESOURCES["IngestConsumerFunction"]["Properties"]["Timeout"]
    queue = RESOURCES["IngestQueue"]["Properties"]
    # When compared
    # Then a batch in flight never reappears to another consumer, and 5 receives precede the DLQ
    assert queue["VisibilityTimeout"] >= 6 * timeout
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]}


def test_the_consumer_reports_partial_batch_failures() -> None:
    # Given the consumer's SQS event source
    events = RESOURCES["IngestConsumerFunction"]["Properties"]["Events"]
    (source,) = (event for event in events.values() if event["Type"] == "SQS")
    # When its response types are read
    # Then one bad message fails alone (contract §6)
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_api_serves_exactly_the_routes_of_the_contract() -> None:
    # Given the API function's events
    events = RESOURCES["IngestApiFunction"]["Properties"]["Events"].values()
    # When the routes are listed
    routes = {(event["Properties"]["Method"].upper(), event["Properties"]["Path"]) for event in events}
    # Then they are contract §4's, the batch route of contract §4b and the request listing of contract §9, on
    # the explicit REST API
    assert routes == {
        ("POST", "/api/webhook/ingest/{endpoint_id}"),
        ("POST", "/api/webhook/ingest/{endpoint_id}/test"),
        ("POST", "/api/webhook/ingest/{endpoint_id}/batch"),
        ("GET", "/api/webhook/ingest/{endpoint_id}/requests/{request_id}"),
        ("GET", "/api/webhook/ingest/{endpoint_id}/requests"),
    }
    assert all(event["Properties"]["RestApiId"] == {"Ref": "IngestApi"} for event in events)


@pytest.mark.parametrize("table", sorted(of_type("AWS::DynamoDB::Table")))
def test_tables_are_on_demand_recoverable_and_encrypted(table: str) -> None:
    # Given a table
    props = RESOURCES[table]["Properties"]
    # When its durability settings are read
    # Then it is on-demand, with point-in-time recovery and encryption at rest
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True


@pytest.mark.parametrize(("parameter", "expected"), [("true", True), ("false", False)])
def test_deletion_protection_follows_its_parameter(parameter: str, expected: bool) -> None:
    # Given the DeletionProtection parameter
    resources = resolved_resources(parameter_overrides={"DeletionProtection": parameter})
    # When the tables are resolved with it
    protection = {
        props["Properties"]["DeletionProtectionEnabled"]
        for props in of_type("AWS::DynamoDB::Table", resources).values()
    }
    # Then every table follows it
    assert protection == {expected}


def test_only_the_requests_table_expires_items() -> None:
    # Given the tables
    # When their TTL settings are read
    ttl = {
        name: res["Properties"].get("TimeToLiveSpecification")
        for name, res in of_type("AWS::DynamoDB::Table").items()
    }
    # Then outcomes, idempotency keys and rate windows expire on expires_at; nothing else expires
    assert ttl == {
        "EndpointsTable": None,
        "RequestsTable": {"AttributeName": "expires_at", "Enabled": True},
        "SessionsTable": None,
    }


def iam_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for role in of_type("AWS::IAM::Role", resources).values()
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def test_no_iam_statement_grants_wildcard_actions() -> None:
    # Given every inline statement, with tracing on so the X-Ray statements are present too
    statements = iam_statements(resolved_resources(parameter_overrides={"TracingEnabled": "true"}))
    # When their actions are listed
    actions = [
        action
        for s in statements
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    # Then every action is a named one
    assert actions
    assert not [action for action in actions if "*" in action]


def test_only_x_ray_statements_have_a_wildcard_resource() -> None:
    # Given every inline statement, tracing on
    statements = iam_statements(resolved_resources(parameter_overrides={"TracingEnabled": "true"}))
    # When the statements on "*" are listed
    on_everything = [s for s in statements if s["Resource"] == "*"]
    # Then they are X-Ray's, which has no resource-level permissions
    assert on_everything
    assert all(action.startswith("xray:") for s in on_everything for action in s["Action"])


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_has_its_own_role_and_a_log_group_with_retention(function: str) -> None:
    # Given a function
    props = RESOURCES[function]["Properties"]
    # When its role and log group are followed
    role = props["Role"]["Fn::GetAtt"][0]
    log_group = RESOURCES[props["LoggingConfig"]["LogGroup"]["Ref"]]
    # Then the role is its own and its logs are kept for the retention parameter
    assert [f for f in FUNCTIONS if RESOURCES[f]["Properties"]["Role"]["Fn::GetAtt"][0] == role] == [function]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == TEMPLATE["Parameters"]["LogRetentionDays"]["Default"]


def test_tracing_follows_its_parameter_in_the_api_and_the_functions() -> None:
    # Given tracing switched on
    traced = resolved_resources(parameter_overrides={"TracingEnabled": "true"})
    # When the API is read
    # Then the API stage traces, and Lambda traces both functions (active tracing)
    assert traced["IngestApi"]["Properties"]["TracingEnabled"] is True
    conditions = TEMPLATE["Conditions"]["IsTraced"]
    assert conditions == {"Fn::Equals": [{"Ref": "TracingEnabled"}, "true"]}
    assert TEMPLATE["Globals"]["Function"]["Tracing"] == {"Fn::If": ["IsTraced", "Active", "PassThrough"]}


def substituted_dashboard_body() -> Any:
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    defaults = {name: spec.get("Default") for name, spec in TEMPLATE["Parameters"].items()}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(defaults[name]) if name in defaults else f"placeholder-{name}"

    return json.loads(re.sub(r"\$\{([^}!]+)\}", value, body))


def dashboard_expressions(body: Any) -> list[str]:
    """Every metric-math / Metrics Insights expression of the dashboard's widgets."""
    return [
        line[0]["expression"]
        for widget in body["widgets"]
        for line in widget["properties"].get("metrics", [])
        if isinstance(line[0], dict) and "expression" in line[0]
    ]


def test_the_dashboard_is_valid_json_querying_every_spec_metric() -> None:
    # Given the dashboard body with its substitutions filled in
    body = substituted_dashboard_body()
    # When its queries are collected
    queries = " ".join(dashboard_expressions(body))
    # Then it parses, and every contract §8 metric is queried from the SessionIngest namespace
    missing = [
        metric
        for metric in SPEC_METRICS
        if f"({metric}) FROM SessionIngest" not in queries and f'MetricName="{metric}"' not in queries
    ]
    assert not missing


def test_the_dashboard_charts_queue_dlq_lambda_and_api_health() -> None:
    # Given the dashboard's plain metric lines
    body = substituted_dashboard_body()
    lines = {
        (line[0], line[1])
        for widget in body["widgets"]
        for line in widget["properties"].get("metrics", [])
        if isinstance(line[0], str)
    }
    # When compared with issue 6's list
    # Then queue and DLQ depth and age, Lambda errors/throttles/duration and API 4xx/5xx/latency are there
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "Duration"),
        ("AWS/ApiGateway", "4XXError"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
    } <= lines


def test_rejections_are_charted_by_reason() -> None:
    # Given the dashboard
    text = json.dumps(substituted_dashboard_body())
    # When the rejection widget's query is read
    # Then it groups this stage's RequestsRejected by its reason dimension
    assert "SUM(RequestsRejected) FROM SessionIngest WHERE stage = 'dev' GROUP BY reason" in text


@pytest.mark.parametrize(
    ("alarm", "metric"),
    [
        ("DeadLetterQueueNotEmptyAlarm", "ApproximateNumberOfMessagesVisible"),
        ("IngestQueueAgeAlarm", "ApproximateAgeOfOldestMessage"),
        ("IngestApiErrorsAlarm", "Errors"),
        ("IngestConsumerErrorsAlarm", "Errors"),
        ("DuplicateOrganisationUidAlarm", "DuplicateOrganisationUid"),
    ],
)
def test_alarms_watch_the_issue_6_signals_and_notify_the_optional_topic(alarm: str, metric: str) -> None:
    # Given an alarm, with and without the SNS topic parameter
    without_topic = RESOURCES[alarm]["Properties"]
    with_topic = resolved_resources(parameter_overrides={"AlarmTopicArn": "arn:aws:sns:eu-west-1:1:ops"})[
        alarm
    ]
    # When its metric and actions are read
    # Then it watches the metric, and notifies the topic only when one is given
    assert metric in json.dumps(without_topic)
    assert "AlarmActions" not in without_topic
    assert with_topic["Properties"]["AlarmActions"] == ["arn:aws:sns:eu-west-1:1:ops"]
    assert with_topic["Properties"]["OKActions"] == ["arn:aws:sns:eu-west-1:1:ops"]


def test_outputs_name_everything_ingestctl_reads_from_a_stack() -> None:
    # Given the template's outputs
    outputs = set(TEMPLATE["Outputs"])
    # When compared with what `ingestctl --stack` reads
    # Then every name is there, plus the API URL and the dashboard
    assert set(STACK_OUTPUTS) | {"ApiUrl", "DashboardName", "DashboardUrl"} <= outputs


def samconfig_overrides(environment: str) -> dict[str, str]:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    text = config[environment]["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in shlex.split(text))


@pytest.mark.parametrize("environment", ["default", "prod"])
def test_samconfig_environments_override_only_declared_parameters_with_allowed_values(
    environment: str,
) -> None:
    # Given an environment of samconfig.toml
    overrides = samconfig_overrides(environment)
    parameters = TEMPLATE["Parameters"]
    # When its overrides are checked against the template's parameters
    unknown = sorted(set(overrides) - set(parameters))
    disallowed = {
        name: value
        for name, value in overrides.items()
        if name in parameters
        and "AllowedValues" in parameters[name]
        and value not in [str(allowed) for allowed in parameters[name]["AllowedValues"]]
    }
    # Then `sam deploy --config-env` would accept every one
    assert not unknown
    assert not disallowed


def test_production_keeps_its_tables_and_its_logs() -> None:
    # Given the prod environment
    overrides = samconfig_overrides("prod")
    # When the data-protection settings are read
    # Then tables are protected from deletion and logs are kept for months
    assert overrides["DeletionProtection"] == "true"
    assert int(overrides["LogRetentionDays"]) >= 90


@pytest.mark.parametrize(("parameter", "reserved"), [("50", 50), ("0", None)])
def test_the_api_function_reserves_and_caps_its_concurrency_by_its_parameter(
    parameter: str, reserved: int | None
) -> None:
    # Given the ApiReservedConcurrency parameter (0: no reservation, since reserving 0 would stop the API)
    resources = resolved_resources(parameter_overrides={"ApiReservedConcurrency": parameter})
    # When the API function is resolved with it
    props = resources["IngestApiFunction"]["Properties"]
    # Then its reserved concurrency follows it, so a flood of API calls cannot starve the consumer
    given = props.get("ReservedConcurrentExecutions")
    assert (None if given is None else int(given)) == reserved
    assert "ReservedConcurrentExecutions" not in resources["IngestConsumerFunction"]["Properties"]


def test_a_per_ip_rate_based_web_acl_guards_the_api_stage_when_its_parameter_is_set() -> None:
    # Given a per-IP limit for the web ACL
    resources = resolved_resources(parameter_overrides={"WebAclRateLimitPerIp": "2000"})
    # When the WAF resources are resolved
    [acl] = of_type("AWS::WAFv2::WebACL", resources).values()
    [association] = of_type("AWS::WAFv2::WebACLAssociation", resources).values()
    [rule] = acl["Properties"]["Rules"]
    # Then one rate-based rule blocks an IP past the limit with the API's 429 shape
    assert acl["Properties"]["Scope"] == "REGIONAL"
    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}
    assert rule["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert int(rule["Statement"]["RateBasedStatement"]["Limit"]) == 2000
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    body = acl["Properties"]["CustomResponseBodies"][
        rule["Action"]["Block"]["CustomResponse"]["CustomResponseBodyKey"]
    ]
    assert json.loads(body["Content"])["error_type"] == "rate_limited"
    # And it is associated with the API's stage
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    arn, variables = association["Properties"]["ResourceArn"]["Fn::Sub"]
    assert "/restapis/${IngestApi}/stages/${ApiStage}" in arn
    assert variables == {"ApiStage": {"Ref": "IngestApi.Stage"}}


def test_without_a_per_ip_limit_there_is_no_web_acl() -> None:
    # Given the default parameters / Then no web ACL is created (WAF costs money per ACL and rule)
    assert not of_type("AWS::WAFv2::WebACL")
    assert not of_type("AWS::WAFv2::WebACLAssociation")
    # And production sets one
    assert int(samconfig_overrides("prod")["WebAclRateLimitPerIp"]) >= 10


CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


def test_a_custom_domain_serves_the_api_with_tls_1_2_only() -> None:
    # Given a custom domain and its certificate
    resources = resolved_resources(
        parameter_overrides={"ApiDomainName": "ingest.example.com", "ApiCertificateArn": CERTIFICATE}
    )
    # When the API's domain resources are resolved
    [domain] = of_type("AWS::ApiGateway::DomainName", resources).values()
    [mapping] = of_type("AWS::ApiGateway::BasePathMapping", resources).values()
    # Then the domain's TLS policy is set explicitly to TLS 1.2, mapped to the API's stage
    assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
    assert domain["Properties"]["RegionalCertificateArn"] == CERTIFICATE
    assert mapping["Properties"]["RestApiId"] == {"Ref": "IngestApi"}
    assert mapping["Properties"]["Stage"] == {"Ref": "IngestApi.Stage"}
    # And the execute-api endpoint (whose TLS policy cannot be chosen) is switched off
    assert resources["IngestApi"]["Properties"]["DisableExecuteApiEndpoint"] is True


def test_without_a_custom_domain_the_execute_api_endpoint_stays_on() -> None:
    # Given the default parameters / Then there is no domain, and the API stays reachable
    assert not of_type("AWS::ApiGateway::DomainName")
    assert RESOURCES["IngestApi"]["Properties"]["DisableExecuteApiEndpoint"] is False
    # And a domain without its certificate is refused by a template rule
    rule = TEMPLATE["Rules"]["CustomDomainNeedsCertificate"]
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ApiCertificateArn"}, ""]}]
    }
