"""docs/openapi.json is generated from the API's routes: committed, current, and true to the template."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingestctl.local.functions import function_specs
from ingestctl.local.template import TEMPLATE_PATH
from ingestctl.openapi import DOCUMENT_PATH, main, openapi_document, render


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return openapi_document()


def test_the_committed_document_is_what_the_code_generates(generated: dict[str, Any]) -> None:
    # Given the document generated from the handler's routes now
    # When it is compared with the committed file
    committed = DOCUMENT_PATH.read_text(encoding="utf-8")
    # Then they are identical (else: run `make openapi` and commit docs/openapi.json)
    assert committed == render(generated), "docs/openapi.json is stale: run `make openapi`"


def test_the_check_command_fails_on_a_stale_copy(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a copy of the document with one description edited
    stale = tmp_path / "openapi.json"
    stale.write_text(DOCUMENT_PATH.read_text(encoding="utf-8").replace("Validate", "Check", 1))
    # When `python -m ingestctl.openapi --check` looks at it
    code = main(["--check", str(stale)])
    # Then it exits 1, saying how to fix it
    assert code == 1
    assert "make openapi" in capsys.readouterr().err


def test_every_api_route_of_the_template_is_documented_and_nothing_else(generated: dict[str, Any]) -> None:
    # Given the API events of template.yaml
    routes = {
        (route.method.lower(), route.path)
        for spec in function_specs(TEMPLATE_PATH)
        for route in spec.api_routes
    }
    # Then the document's operations are exactly those
    documented = {(method, path) for path, item in generated["paths"].items() for method in item}
    assert documented == routes


def test_every_operation_needs_the_bearer_token(generated: dict[str, Any]) -> None:
    # Given the bearer security scheme
    assert generated["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    # Then every operation requires it
    for item in generated["paths"].values():
        for operation in item.values():
            assert operation["security"] == [{"bearerAuth": []}]


def test_every_response_carries_x_request_id_and_2xx_429_the_rate_limit_headers(
    generated: dict[str, Any],
) -> None:
    # Given every documented response
    for item in generated["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                required = {name for name, header in response["headers"].items() if header["required"]}
                # Then X-Request-Id is required everywhere, the RateLimit-* headers on 2xx and 429
                assert "X-Request-Id" in required
                if status.startswith("2") or status == "429":
                    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= required
                # And the body has a schema
                assert "$ref" in json.dumps(response["content"]["application/json"]["schema"])


def test_only_schemas_the_api_uses_are_in_the_document(generated: dict[str, Any]) -> None:
    # Given the component schemas
    names = set(generated["components"]["schemas"])
    # Then Powertools' own validation-error schemas (never answered by this API) are not among them
    assert not names & {"HTTPValidationError", "ValidationError", "ResponseValidationError"}
    assert {"Accepted", "DryRunResult", "RequestOutcome", "IngestPayload"} <= names
