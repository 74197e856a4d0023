"""The functions of template.yaml as the local stack runs them: code, handler, limits, events, environment.

SAM semantics: `Globals.Function` supplies defaults that each function's properties override, and
environment variables are merged (the function's win). Defaults are SAM's own (3 s, 128 MB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestctl.local.template import (
    TEMPLATE_PATH,
    CreatedResources,
    load_template,
    parameter_defaults,
    resolve_intrinsics,
)

SAM_DEFAULT_TIMEOUT_SECONDS = 3
SAM_DEFAULT_MEMORY_MB = 128
SAM_DEFAULT_STAGE = "Prod"  # the stage of the implicit ServerlessRestApi
SQS_DEFAULT_BATCH_SIZE = 10


@dataclass(frozen=True)
class GatewayResponse:
    """One entry of an Api's `GatewayResponses`: API Gateway's own answer of that type, customised."""

    status: int | None
    headers: dict[
        str, str
    ]  # header -> mapping expression: 'literal', context.requestId, method.request.header.X
    templates: dict[str, str]  # content type -> body template ($context.requestId, $context.error.message…)


@dataclass(frozen=True)
class ApiRoute:
    """One `Type: Api` event: a resource path template (`/a/{id}`) and a method (`POST`, or `ANY`)."""

    path: str
    method: str
    stage: str
    gateway_responses: dict[str, GatewayResponse] = field(default_factory=dict)


@dataclass(frozen=True)
class SqsSource:
    """One `Type: SQS` event source mapping."""

    queue: Any  # the unresolved `Queue` property, usually `!GetAtt Queue.Arn`
    batch_size: int
    batching_window_seconds: float
    report_batch_item_failures: bool


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str  # "module.function", as in the template
    runtime: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, Any]  # unresolved: may hold intrinsics
    api_routes: tuple[ApiRoute, ...]
    sqs_sources: tuple[SqsSource, ...]
    conditions: dict[str, Any] = field(default_factory=dict)  # the template's, for `Fn::If`

    @property
    def handler_module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def handler_function(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def resolved_environment(self, created: CreatedResources, parameters: dict[str, str]) -> dict[str, str]:
        """The environment variables the deployed function gets, with `!Ref`s pointing at local resources."""
        resolved = resolve_intrinsics(self.environment, created, parameters, conditions=self.conditions)
        return {name: str(value) for name, value in resolved.items()}


def _parameter(value: Any, parameters: dict[str, str]) -> Any:
    """`!Ref Parameter` at its default; anything else as it is."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
        return parameters[value["Ref"]]
    return value


def _gateway_responses(api: dict[str, Any], parameters: dict[str, str]) -> dict[str, GatewayResponse]:
    responses = {}
    for response_type, spec in ((api.get("Properties") or {}).get("GatewayResponses") or {}).items():
        status = _parameter(spec.get("StatusCode"), parameters)
        headers = ((spec.get("ResponseParameters") or {}).get("Headers")) or {}
        responses[response_type] = GatewayResponse(
            status=int(status) if status is not None else None,
            headers={name: str(value) for name, value in headers.items()},
            templates={kind: str(body) for kind, body in (spec.get("ResponseTemplates") or {}).items()},
        )
    return responses


def _api_route(props: dict[str, Any], resources: dict[str, Any], parameters: dict[str, str]) -> ApiRoute:
    """The route of an Api event, with the stage and gateway responses of the API it belongs to."""
    stage: Any = SAM_DEFAULT_STAGE
    responses: dict[str, GatewayResponse] = {}
    api_ref = props.get("RestApiId")
    if isinstance(api_ref, dict) and "Ref" in api_ref:
        api = resources.get(api_ref["Ref"], {})
        stage = _parameter((api.get("Properties") or {}).get("StageName", SAM_DEFAULT_STAGE), parameters)
        responses = _gateway_responses(api, parameters)
    return ApiRoute(props["Path"], str(props["Method"]).upper(), str(stage), responses)


def _events(
    properties: dict[str, Any], resources: dict[str, Any], parameters: dict[str, str]
) -> tuple[tuple[ApiRoute, ...], tuple[SqsSource, ...]]:
    routes: list[ApiRoute] = []
    sources: list[SqsSource] = []
    for event in (properties.get("Events") or {}).values():
        props = event.get("Properties") or {}
        if event["Type"] == "Api":
            routes.append(_api_route(props, resources, parameters))
        elif event["Type"] == "SQS" and props.get("Enabled", True) is not False:
            sources.append(
                SqsSource(
                    queue=props["Queue"],
                    batch_size=int(props.get("BatchSize", SQS_DEFAULT_BATCH_SIZE)),
                    batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                )
            )
    return tuple(routes), tuple(sources)


def function_specs(path: Path = TEMPLATE_PATH) -> list[FunctionSpec]:
    """Every `AWS::Serverless::Function` of the template, with Globals applied."""
    template = load_template(path)
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    resources: dict[str, Any] = template["Resources"]
    parameters = parameter_defaults(path)
    conditions = template.get("Conditions") or {}
    specs = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_, **(resource.get("Properties") or {})}
        environment = {
            **((globals_.get("Environment") or {}).get("Variables") or {}),
            **(((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}),
        }
        routes, sources = _events(props, resources, parameters)
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_dir=(path.parent / str(props["CodeUri"])).resolve(),
                handler=str(props["Handler"]),
                runtime=str(props.get("Runtime", "python3")),
                timeout_seconds=int(props.get("Timeout", SAM_DEFAULT_TIMEOUT_SECONDS)),
                memory_mb=int(props.get("MemorySize", SAM_DEFAULT_MEMORY_MB)),
                environment=environment,
                api_routes=routes,
                sqs_sources=sources,
                conditions=conditions,
            )
        )
    return specs
