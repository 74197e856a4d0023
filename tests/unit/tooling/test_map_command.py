"""`ingestctl map`: the normalised record offline, field errors as exit 1, bad input as exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingestctl.cli import app
from tests.fixtures import REFERENCE_SESSION_PAYLOAD

runner = CliRunner()


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_the_reference_payload_prints_the_record_and_exits_0() -> None:
    # Given the contract's reference payload file
    # When mapped for organisation acme
    result = runner.invoke(app, ["map", "--org", "acme", str(REFERENCE_SESSION_PAYLOAD)])
    # Then stdout is the record and warnings as JSON
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["warnings"] == []
    assert document["record"]["resource_id"] == "acme/session/9001"
    assert document["record"]["start_time"] == "2026-06-14T23:00:00Z"


def test_the_payload_can_come_from_stdin() -> None:
    # Given a payload on standard input
    payload = json.dumps({"session": {"name": "From stdin", "tracks": [1]}})
    # When mapped with "-"
    result = runner.invoke(app, ["map", "-"], input=payload)
    # Then the record and the unsupported_field warning are printed
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "record": {"name": "From stdin"},
        "warnings": [
            {
                "code": "unsupported_field",
                "field": "tracks",
                "message": "'tracks' is not available through ingest and was ignored",
            }
        ],
    }


def test_without_org_ids_of_any_organisation_are_kept_as_given() -> None:
    # Given a payload with another organisation's id and a plain number
    payload = json.dumps({"session": {"resource_id": "globex/session/5", "location_resource_id": 7}})
    # When mapped without --org
    result = runner.invoke(app, ["map", "-"], input=payload)
    # Then the formatted id is kept and the plain number becomes its decimal string
    assert json.loads(result.stdout)["record"] == {
        "resource_id": "globex/session/5",
        "location_resource_id": "7",
    }


def test_field_errors_are_printed_and_exit_1() -> None:
    # Given a payload with another organisation's id and a bad boolean
    payload = json.dumps({"session": {"resource_id": "globex/session/5", "active": "maybe"}})
    # When mapped for acme
    result = runner.invoke(app, ["map", "--org", "acme", "-"], input=payload)
    # Then exit 1 with the field errors as JSON
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert [error["field"] for error in errors] == ["resource_id", "active"]
    assert all(set(error) == {"field", "message"} for error in errors)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"session": ', "Expecting value"),
        ('{"a": 1, "a": 2}', "duplicate key"),
        ('{"n": NaN}', "NaN"),
        ("[" * 100 + "]" * 100, "deeper than"),
        ("", "empty"),
    ],
)
def test_invalid_json_is_a_clear_error_and_exits_2(content: str, reason: str) -> None:
    # Given input that is not strict JSON
    # When mapped
    result = runner.invoke(app, ["map", "-"], input=content)
    # Then exit 2 with the reason on stderr and nothing on stdout
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "invalid JSON" in result.stderr
    assert reason in result.stderr


def test_a_missing_payload_file_exits_2(tmp_path: Path) -> None:
    # Given a path that does not exist / When mapped / Then exit 2 naming the file
    result = runner.invoke(app, ["map", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "cannot read payload file" in result.stderr


def test_a_mapping_file_is_applied(tmp_path: Path) -> None:
    # Given a mapping file renaming the root and the name
    mapping = write(tmp_path, "mapping.json", json.dumps({"root_key": "item", "fields": {"name": "title"}}))
    # When a payload in that shape is mapped with it
    result = runner.invoke(app, ["map", "--mapping", str(mapping), "-"], input='{"item": {"title": "T"}}')
    # Then the mapping decides where the fields come from
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["record"] == {"name": "T"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"fields": {"name": "title[?"}}', "not valid JMESPath"),
        ('{"fields": {"title": "name"}}', "unknown session field"),
        ('{"root_key": 1}', "root_key"),
        ("{not json", "invalid JSON in mapping file"),
    ],
)
def test_a_bad_mapping_file_is_a_clear_error_and_exits_2(tmp_path: Path, content: str, reason: str) -> None:
    # Given a mapping file with a mistake
    mapping = write(tmp_path, "mapping.json", content)
    # When used / Then exit 2 with the reason on stderr, before the payload is read
    result = runner.invoke(app, ["map", "--mapping", str(mapping), "-"], input='{"session": {}}')
    assert result.exit_code == 2
    assert reason in result.stderr
    assert result.stdout == ""
