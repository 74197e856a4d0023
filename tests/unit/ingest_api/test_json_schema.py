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


def _chain_doubling(levels: int) -> dict[str, Any]:
    """n_i = allOf [n_(i-1), n_(i-1)]: 2^levels subschemas apply to the same value."""
    definitions: dict[str, Any] = {"n0": {"type": "string"}}
    for level in range(1, levels + 1):
        previous = {"$ref": f"#/$defs/n{level - 1}"}
        definitions[f"n{level}"] = {"allOf": [previous, dict(previous)]}
    return {"$defs": definitions, "$ref": f"#/$defs/n{levels}"}


# S = allOf [T, T] and T = items: S — the number of subschemas doubles at each level of an array.
_DOUBLING_PER_LEVEL = {
    "$defs": {
        "S": {"allOf": [{"$ref": "#/$defs/T"}, {"$ref": "#/$defs/T"}]},
        "T": {"items": {"$ref": "#/$defs/S"}},
    },
    "$ref": "#/$defs/S",
}

UNUSABLE_SCHEMAS: list[tuple[dict[str, Any], str]] = [
    ({"$ref": "#"}, "loop"),
    ({"allOf": [{"$ref": "#"}]}, "loop"),
    (
        {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"},
        "loop",
    ),
    ({"not": {"$ref": "#"}}, "loop"),
    ({"properties": {"code": {"$ref": "#/$defs/nope"}}}, "points at nothing"),
    ({"properties": {"code": {"$ref": "#nowhere"}}}, "points at nothing"),
    ({"properties": {"code": {"$ref": "#/required"}}, "required": ["code"]}, "not point at a schema"),
    (_chain_doubling(12), "subschemas would apply to one value"),
    (_DOUBLING_PER_LEVEL, "subschemas would apply to one value"),
    ({"properties": {"code": {"type": "string", "pattern": "^(a+)+$"}}}, "pattern"),
    ({"properties": {"code": {"pattern": r"\d+x"}}}, "not anchored"),
    ({"patternProperties": {"^(a|a)*$": {}}}, "patternProperties"),
    ({"propertyNames": {"pattern": "^(?=x)"}}, "lookahead"),
]


@pytest.mark.parametrize(("schema", "reason"), UNUSABLE_SCHEMAS, ids=lambda value: repr(value)[:50])
def test_a_schema_that_would_fail_or_stall_every_payload_is_refused_when_configured(
    schema: dict[str, Any], reason: str
) -> None:
    # Given a schema whose references loop or dangle, that fans out, or whose patterns backtrack
    # When it is configured / Then it is refused, saying why
    with pytest.raises(InvalidJsonSchema, match=reason):
        check_json_schema(schema)


@pytest.mark.parametrize(("schema", "reason"), UNUSABLE_SCHEMAS, ids=lambda value: repr(value)[:50])
def test_a_stored_unusable_schema_refuses_each_payload_with_one_clear_error(
    schema: dict[str, Any], reason: str
) -> None:
    # Given such a schema stored without the configuration checks (an older endpoint, a hand edit)
    # When a payload meets it
    errors = schema_errors({"code": "a" * 30 + "!", "x": [[[[["a"]]]]]}, schema)
    # Then it is refused (fail closed) with one error saying the schema cannot be applied, never a crash
    assert len(errors) == 1
    assert errors[0].field == "$"
    assert "cannot be applied" in errors[0].message


RECURSIVE_SCHEMAS: list[dict[str, Any]] = [
    # A tree: recursion always descends into a child value, so it ends with the payload.
    {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "left": {"$ref": "#"},
            "right": {"$ref": "#"},
            "children": {"type": "array", "items": {"$ref": "#"}},
        },
    },
    {"$defs": {"node": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "$ref": "#/$defs/node"},
    {"$defs": {"code": {"$anchor": "code", "type": "string"}}, "properties": {"code": {"$ref": "#code"}}},
    _chain_doubling(6),
]


@pytest.mark.parametrize("schema", RECURSIVE_SCHEMAS, ids=lambda value: repr(value)[:50])
def test_recursion_that_descends_into_the_payload_is_accepted_and_applied(schema: dict[str, Any]) -> None:
    # Given a schema that refers to itself only through child values, or fans out a little
    # When it is configured and applied / Then it is accepted and checks payloads normally
    check_json_schema(schema)
    assert isinstance(schema_errors({"name": "n", "left": {"name": 1}}, schema), list)


def test_a_recursive_tree_schema_reports_errors_deep_in_the_payload() -> None:
    # Given the tree schema / When a nested child breaks it / Then the error names the nested field
    [error] = schema_errors({"left": {"right": {"name": 7}}}, RECURSIVE_SCHEMAS[0])
    assert error.field == "left.right.name"
