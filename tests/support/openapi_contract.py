"""Checks an HTTP answer against the committed OpenAPI document (docs/openapi.json): status, headers, body.

Shared by the fuzz and security tests, so "documented" means one thing everywhere: the status is listed
for the operation, every required header of that response is present and fits its schema, and the body
validates against the response's JSON Schema.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from ingestctl.openapi import DOCUMENT_PATH

INGEST = ("post", "/api/webhook/ingest/{endpoint_id}")
DRY_RUN = ("post", "/api/webhook/ingest/{endpoint_id}/test")
OUTCOME = ("get", "/api/webhook/ingest/{endpoint_id}/requests/{request_id}")
LISTING = ("get", "/api/webhook/ingest/{endpoint_id}/requests")
OPERATIONS = (INGEST, DRY_RUN, OUTCOME, LISTING)


@functools.cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


def documented_statuses(operation: tuple[str, str]) -> set[int]:
    method, path = operation
    return {int(status) for status in document()["paths"][path][method]["responses"]}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # The schema's $refs point into the document's components: resolve them against the whole document.
    return Draft202012Validator({**schema, "components": document()["components"]})


def _header_value(raw: str, schema: dict[str, Any]) -> Any:
    if schema.get("type") == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    return raw


def contract_problems(
    operation: tuple[str, str], status: int, headers: Mapping[str, str], body: bytes
) -> list[str]:
    """Everything about this answer that the document does not allow (empty when it conforms)."""
    method, path = operation
    responses = document()["paths"][path][method]["responses"]
    response = responses.get(str(status))
    if response is None:
        return [f"status {status} is not documented for {method.upper()} {path}"]
    problems: list[str] = []
    lowered = {name.lower(): value for name, value in headers.items()}
    for name, header in response.get("headers", {}).items():
        value = lowered.get(name.lower())
        if value is None:
            if header.get("required"):
                problems.append(f"required header {name} is missing")
            continue
        for error in _validator(header["schema"]).iter_errors(_header_value(value, header["schema"])):
            problems.append(f"header {name}: {error.message}")
    content_type = lowered.get("content-type", "")
    if not content_type.startswith("application/json"):
        return [*problems, f"content type {content_type!r} is not JSON"]
    try:
        parsed = json.loads(body)
    except ValueError:
        return [*problems, f"the body is not JSON: {body[:200]!r}"]
    schema = response["content"]["application/json"]["schema"]
    problems.extend(f"body: {error.message}" for error in _validator(schema).iter_errors(parsed))
    return problems


def assert_documented(
    operation: tuple[str, str], status: int, headers: Mapping[str, str], body: bytes
) -> None:
    problems = contract_problems(operation, status, headers, body)
    assert not problems, f"{status} {body[:300]!r}: {problems}"
