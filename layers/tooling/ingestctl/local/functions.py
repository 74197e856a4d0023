"""The functions of template.yaml as the local stack runs them: code, handler, limits, events, environment.

SAM semantics: `Globals.Function` supplies defaults that each function's properties override, and
environment variables are merged (the function's win). Defaults are SAM's own (3 s, 128 MB).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestctl.template import TEMPLATE_PATH, CreatedResources, load_template, resolve_intrinsics

SAM_DEFAULT_TIMEOUT_SECONDS = 3
SAM_DEFAULT_MEMORY_MB = 128
SAM_DEFAULT_STAGE = "Prod"  # the stage of the implicit ServerlessRestApi
SQS_DEFAULT_BATCH_SIZE = 10


@dataclass(frozen=True)
class ApiRoute:
    """One `Type: Api` event: a resource path template (`/a/{id}`) and a method (`POST`, or `ANY`)."""

    path: str
    method: str
    stage: str


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

    @property
    def handler_module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def handler_function(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def resolved_environment(self, created: CreatedResources, parameters: dict[str, str]) -> dict[str, str]:
        """The environment variables the deployed function gets, with `!Ref`s pointing at local resources."""
        resolved = resolve_intrinsics(self.environment, created, parameters)
        return {name: str(value) for name, value in resolved.items()}


def _stage_of(event_properties: dict[str, Any], resources: dict[str, Any]) -> str:
    api_ref = event_properties.get("RestApiId")
    if isinstance(api_ref, dict) and "Ref" in api_ref:
        stage = resources.get(api_ref["Ref"], {}).get("Properties", {}).get("StageName")
        if isinstance(stage, str):
            return stage
    return SAM_DEFAULT_STAGE


def _events(
    properties: dict[str, Any], resources: dict[str, Any]
) -> tuple[tuple[ApiRoute, ...], tuple[SqsSource, ...]]:
    routes: list[ApiRoute] = []
    sources: list[SqsSource] = []
    for event in (properties.get("Events") or {}).values():
        props = event.get("Properties") or {}
        if event["Type"] == "Api":
            routes.append(ApiRoute(props["Path"], str(props["Method"]).upper(), _stage_of(props, resources)))
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
    specs = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_, **(resource.get("Properties") or {})}
        environment = {
            **((globals_.get("Environment") or {}).get("Variables") or {}),
            **(((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}),
        }
        routes, sources = _events(props, resources)
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
            )
        )
    return specs
