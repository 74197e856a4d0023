"""Endpoint JSON Schemas: checked when configured, applied to payloads (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from session_ingest import limits
from session_ingest.domain.json_schema import InvalidJsonSchema, check_json_schema, schema_errors

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["session"],
    "properties": {
        "session": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "maxLength": 4},
                "starts": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "integer"}},
            },
        }
    },
}


def test_a_conforming_payload_has_no_errors() -> None:
    payload = {"session": {"code": "K1", "starts": "2026-06-14T23:00:00Z", "tags": [1, 2]}}
    assert schema_errors(payload, SCHEMA) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "$"),
        ({"session": {"code": "TOO-LONG"}}, "session.code"),
        ({"session": {"tags": [1, "two"]}}, "session.tags[1]"),
        ({"session": {"starts": "yesterday"}}, "session.starts"),
    ],
)
def test_each_violation_names_its_json_path(payload: dict[str, Any], field: str) -> None:
    [error] = schema_errors(payload, SCHEMA)
    assert error.field == field
    assert error.message


def test_errors_are_capped() -> None:
    payload = {"session": {"tags": ["x"] * (limits.MAX_VALIDATION_DETAILS * 3)}}
    assert len(schema_errors(payload, SCHEMA)) == limits.MAX_VALIDATION_DETAILS


def test_long_messages_are_shortened() -> None:
    [error] = schema_errors({"session": {"code": "x" * 10_000}}, SCHEMA)
    assert len(error.message) <= 300


@pytest.mark.parametrize("schema", [{"type": "nonsense"}, {"properties": []}, {"minLength": -1}])
def test_an_invalid_schema_is_refused_when_configured(schema: dict[str, Any]) -> None:
    with pytest.raises(InvalidJsonSchema):
        check_json_schema(schema)


@pytest.mark.parametrize(
    "reference", ["https://example.com/session.json", "other.json#/defs/x", "urn:example:session"]
)
def test_a_reference_outside_the_schema_is_refused_when_configured(reference: str) -> None:
    # Given a schema whose property refers to a document it does not contain
    schema = {"properties": {"session": {"$ref": reference}}}
    # When/Then configuring it is refused (it is never fetched, so it could never resolve)
    with pytest.raises(InvalidJsonSchema, match="outside the schema"):
        check_json_schema(schema)


def test_a_local_reference_is_accepted_and_applied() -> None:
    # Given a schema referring to its own definitions
    schema = {"$defs": {"code": {"type": "string"}}, "properties": {"code": {"$ref": "#/$defs/code"}}}
    # When it is configured and a payload breaks it
    check_json_schema(schema)
    # Then the local reference is applied
    assert schema_errors({"code": 7}, schema)[0].field == "code"


def test_the_schema_draft_is_taken_from_the_schema() -> None:
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "integer"}]}
    check_json_schema(draft7)
    assert schema_errors(["x"], draft7)[0].field == "[0]"
