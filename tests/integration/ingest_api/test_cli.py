"""`ingestctl endpoint|token|requests` (contract §9): JSON on stdout, errors on stderr, non-zero exit."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ingestctl.cli import app
from ingestctl.commands.failures import EXIT_BAD_INPUT
from ingestctl.local.template import CreatedResources
from tests.fixtures import reference_session_payload
from tests.support.ingest_api import ApiClient


def run(*args: str) -> Any:
    """Run ingestctl; return (exit code, parsed stdout or None, stderr)."""
    result = CliRunner().invoke(app, list(args))
    stdout = json.loads(result.stdout) if result.exit_code == 0 else result.stdout
    return result.exit_code, stdout, result.stderr


def test_endpoint_create_prints_the_id_and_a_working_token(aws: CreatedResources, deps: Any) -> None:
    # Given nothing but the tables
    # When an endpoint is created with a rate limit
    code, created, _ = run(
        "endpoint", "create", "--type", "session", "--org", "acme", "--event-id", "42", "--rate-limit", "30"
    )
    # Then it prints the endpoint id, its token and the token id, and the token opens the endpoint
    assert code == 0
    assert set(created) == {"endpoint_id", "token", "token_id"}
    assert created["token"].startswith(f"sit_{created['token_id']}_")
    result = ApiClient(created["endpoint_id"], created["token"]).post(reference_session_payload())
    assert (result.status, result.headers["RateLimit-Limit"]) == (200, "30")


def test_endpoint_create_reads_mapping_and_schema_files(aws: CreatedResources, tmp_path: Path) -> None:
    # Given a mapping file and a JSON Schema file
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"root_key": "item", "fields": {"name": "title"}}))
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "required": ["item"]}))
    # When an endpoint is created with them
    _, created, _ = run(
        "endpoint",
        "create",
        "--org",
        "acme",
        "--event-id",
        "7",
        "--mapping",
        str(mapping),
        "--schema",
        str(schema),
    )
    # Then show reports both
    code, shown, _ = run("endpoint", "show", created["endpoint_id"])
    assert code == 0
    assert shown["mapping"]["root_key"] == "item"
    assert shown["mapping"]["fields"] == {"name": "title"}
    assert shown["json_schema"] == {"type": "object", "required": ["item"]}


@pytest.mark.parametrize(
    ("file_text", "message"),
    [
        pytest.param("{", "invalid JSON in mapping file", id="not-json"),
        pytest.param('{"fields": {"nonsense": "x"}}', "invalid mapping", id="unknown-target"),
    ],
)
def test_a_bad_mapping_file_is_an_error_on_stderr(
    aws: CreatedResources, tmp_path: Path, file_text: str, message: str
) -> None:
    # Given an unusable mapping file
    mapping = tmp_path / "mapping.json"
    mapping.write_text(file_text)
    # When an endpoint is created with it
    code, stdout, stderr = run(
        "endpoint", "create", "--org", "acme", "--event-id", "7", "--mapping", str(mapping)
    )
    # Then nothing is created, stderr says why, and the exit code is bad input's (README exit codes)
    assert code == EXIT_BAD_INPUT
    assert stdout == ""
    assert message in stderr
    assert run("endpoint", "list")[1] == []


def test_an_invalid_json_schema_is_refused(aws: CreatedResources, tmp_path: Path) -> None:
    # Given a file that is JSON but not a JSON Schema
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "no-such-type"}))
    # When an endpoint is created with it
    code, _, stderr = run("endpoint", "create", "--org", "acme", "--event-id", "7", "--schema", str(schema))
    # Then it is refused as bad input
    assert code == EXIT_BAD_INPUT
    assert "invalid JSON Schema" in stderr


def test_endpoint_list_and_show_give_tokens_without_secrets(aws: CreatedResources) -> None:
    # Given two endpoints, one with a second token
    _, first, _ = run("endpoint", "create", "--org", "acme", "--event-id", "1")
    _, second, _ = run("endpoint", "create", "--org", "globex", "--event-id", "2")
    _, token, _ = run("token", "create", first["endpoint_id"], "--expires-in", "3600")
    # When they are listed
    code, listed, _ = run("endpoint", "list")
    # Then both appear with their tokens' metadata only
    assert code == 0
    assert [item["endpoint_id"] for item in listed] == [first["endpoint_id"], second["endpoint_id"]]
    tokens = listed[0]["tokens"]
    assert {item["token_id"] for item in tokens} == {first["token_id"], token["token_id"]}
    assert all(set(item) == {"token_id", "created_at", "expires_at", "revoked"} for item in tokens)
    assert token["expires_at"] in {item["expires_at"] for item in tokens}
    printed = json.dumps(listed)
    for secret in (first["token"], second["token"], token["token"]):
        assert secret.split("_", 2)[2] not in printed


def test_token_revoke_marks_the_token_revoked(aws: CreatedResources) -> None:
    # Given an endpoint and its token
    _, created, _ = run("endpoint", "create", "--org", "acme", "--event-id", "1")
    # When the token is revoked
    code, revoked, _ = run("token", "revoke", created["token_id"])
    # Then the CLI confirms, and show lists it revoked
    assert code == 0
    assert revoked == {
        "token_id": created["token_id"],
        "endpoint_id": created["endpoint_id"],
        "revoked": True,
    }
    assert run("endpoint", "show", created["endpoint_id"])[1]["tokens"][0]["revoked"] is True


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("endpoint", "show", "no-such-endpoint"), id="show"),
        pytest.param(("token", "create", str(uuid.uuid4())), id="token-create"),
        pytest.param(("token", "revoke", uuid.uuid4().hex), id="token-revoke"),
        pytest.param(("requests", "get", str(uuid.uuid4())), id="requests-get"),
        pytest.param(("endpoint", "disable", str(uuid.uuid4())), id="disable"),
    ],
)
def test_unknown_ids_are_errors_on_stderr(aws: CreatedResources, args: tuple[str, ...]) -> None:
    # Given an id that does not exist
    # When a command names it
    code, stdout, stderr = run(*args)
    # Then it fails with a message on stderr and nothing on stdout
    assert code == 1
    assert stdout == ""
    assert stderr.startswith("ingestctl ")


def test_requests_get_prints_the_outcome_as_the_api_does(api: ApiClient) -> None:
    # Given an accepted request
    request_id = api.post(reference_session_payload()).body["request_id"]
    # When the operator looks it up
    code, outcome, _ = run("requests", "get", request_id)
    # Then it is the same document the API returns
    assert code == 0
    assert outcome == api.get_outcome(request_id).body


def test_endpoint_disable_makes_the_api_answer_404(api: ApiClient, clock: Any) -> None:
    # Given an endpoint in use
    assert api.post(reference_session_payload()).status == 200
    # When it is disabled, and the API's cache has expired
    code, shown, _ = run("endpoint", "disable", api.endpoint_id)
    clock.advance(30)
    # Then it reports disabled and the API answers 404 to its valid token
    assert (code, shown["enabled"]) == (0, False)
    assert api.post(reference_session_payload()).status == 404
