"""The ingest API's OpenAPI document, generated from the handler's routes (`make openapi`).

Powertools writes the paths, operations, statuses, headers and security from the route decorators of
`ingest_api_handler`; this module adds what Powertools documents only for routes it validates itself
(the request side, from `api_routes`) and the body schemas (the pydantic models of `api_schemas`), and
drops the validation-error schemas Powertools always adds but this API never answers with.
`docs/openapi.json` is this document, committed; a test fails when it is stale.

    python -m ingestctl.openapi            # rewrite docs/openapi.json
    python -m ingestctl.openapi --check    # exit 1 when docs/openapi.json differs from the code
(with functions/ingest_api on PYTHONPATH, as in the Lambda runtime; `make openapi` sets it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server, ServerVariable, Tag
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from ingestctl.local.template import TEMPLATE_PATH
from session_ingest.service import api_routes
from session_ingest.service.api_schemas import COMPONENT_MODELS, REQUEST_SCHEMAS

DOCUMENT_PATH = TEMPLATE_PATH.parent / "docs" / "openapi.json"
TITLE = "Session ingest API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Webhook ingest for event sessions. Integrators POST session payloads for one ingest "
    "endpoint with that endpoint's bearer token; each accepted payload is queued and processed "
    "asynchronously, and its outcome can be read back. Every response carries `X-Request-Id`; every "
    "2xx and 429 response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`."
)
_REF_PREFIX = "#/components/schemas/"


def openapi_document() -> dict[str, Any]:
    """The document, as a JSON-ready dict."""
    import ingest_api_handler  # the Lambda's own module: its routes are the source

    generated = ingest_api_handler.app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        servers=[_deployed_server()],
        tags=[Tag(name="ingest", description="Push session payloads and follow them")],
        security_schemes={
            api_routes.BEARER_SCHEME: HTTPBearer(
                bearerFormat="sit_<token_id>_<secret>",
                description="The endpoint's token, shown once when it is issued (`ingestctl token create`)",
            )
        },
    )
    document: dict[str, Any] = json.loads(generated)
    for operation in _operations(document):
        _add_request_side(operation)
    components = document.setdefault("components", {})
    components["schemas"] = {**components.get("schemas", {}), **component_schemas()}
    _drop_unreferenced_schemas(document)
    return document


def _deployed_server() -> Server:
    variables = {
        "restApiId": ServerVariable(default="abcdef1234", description="the stack's IngestApi id"),
        "region": ServerVariable(default="eu-west-1"),
        "stage": ServerVariable(default="dev", description="the stack's Stage parameter"),
    }
    return Server(
        url="https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}",
        description="A deployed stack (its ApiUrl output)",
        variables=variables,
    )


class _ComponentNames(GenerateJsonSchema):
    """Response models are `…Reply` in Python (beside the errors of the same name); not in the document."""

    def normalize_name(self, name: str) -> str:
        return super().normalize_name(name).removesuffix(_REPLY_SUFFIX)


_REPLY_SUFFIX = "Reply"


def component_schemas() -> dict[str, Any]:
    """JSON Schemas of every body, nested models included, keyed by component name."""
    _, top = models_json_schema(
        [(model, "validation") for model in COMPONENT_MODELS],
        ref_template=_REF_PREFIX + "{model}",
        schema_generator=_ComponentNames,
    )
    schemas: dict[str, Any] = top.get("$defs", {})
    for schema in schemas.values():
        schema["title"] = schema["title"].removesuffix(_REPLY_SUFFIX)
    return dict(sorted({**schemas, **REQUEST_SCHEMAS}.items()))


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path_item in document.get("paths", {}).values():
        yield from path_item.values()


def _add_request_side(operation: dict[str, Any]) -> None:
    operation_id = operation["operationId"]
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    for declared in api_routes.REQUEST_PARAMETERS.get(operation_id, []):
        same = [p for p in parameters if (p["name"], p["in"]) == (declared["name"], declared["in"])]
        for existing in same:
            parameters.remove(existing)
        parameters.append(declared)
    body = api_routes.REQUEST_BODIES.get(operation_id)
    if body is not None:
        operation["requestBody"] = body


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                yield value.removeprefix(_REF_PREFIX)
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _drop_unreferenced_schemas(document: dict[str, Any]) -> None:
    """Keep the schemas reachable from the paths (Powertools adds its HTTPValidationError regardless)."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    reachable: set[str] = set()
    pending = list(_references(document["paths"]))
    while pending:
        name = pending.pop()
        if name not in reachable:
            reachable.add(name)
            pending.extend(_references(schemas[name]))
    document["components"]["schemas"] = {name: schemas[name] for name in sorted(reachable)}


def render(document: dict[str, Any]) -> str:
    """The committed text: stable key order as generated, two-space indent, UTF-8, final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingestctl.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the code")
    parser.add_argument("path", nargs="?", type=Path, default=DOCUMENT_PATH)
    args = parser.parse_args(argv)
    text = render(openapi_document())
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
