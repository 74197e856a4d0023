"""The OpenAPI request schema of each session field admits exactly what the field's rule accepts.

Checked with both validators in play: `jsonschema_rs` (schemathesis decides with it whether a generated
case is valid) and Python's `jsonschema` (the repository's own contract checks); and from both sides:
values generated from the schema's patterns, and near misses built from the characters the rules treat
specially. The gaps the module docstring of `value_schemas` names are left out, each by name.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from session_ingest.domain import value_schemas
from session_ingest.domain.record_types import FieldContext, WarningCollector
from session_ingest.domain.session_fields import SESSION_RECORD_FIELDS
from session_ingest.domain.values import InvalidValue

FIELDS = sorted(SESSION_RECORD_FIELDS)
# Fields of one kind share rule and schema: one of each kind is enough (and keeps this test quick).
KINDS = sorted(
    {
        json.dumps(field.accepts, sort_keys=True): name
        for name, field in reversed(SESSION_RECORD_FIELDS.items())
    }.values()
)
RESOURCE_ID_FIELDS = {"resource_id", "location_resource_id"}
URL_FIELDS = {"card_link_url", "eventapp_promo_logo"}
BOOLEAN_FIELDS = {name for name, field in SESSION_RECORD_FIELDS.items() if field.stored is bool}

# Characters the rules treat specially: digits and signs, separators, the letters of the boolean and
# choice words, URL punctuation and markup, Python's whitespace (some of it controls), other controls,
# and a few non-ASCII letters and invisibles.
NEAR_MISS_ALPHABET = (
    "0123456789+-|/:.,_ TtZzaefhilnoprsuvxyAEFILNORSUXY&#;@[]?=%<>\"'\\`"
    "\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2000\u2028\u3000\x00\x08\x7f\x9f\u200b\xadéЖ中"
)
NEAR_MISS_TEXT = st.text(alphabet=NEAR_MISS_ALPHABET, max_size=24)
JSON_NUMBERS = st.integers(min_value=-(2**60), max_value=2**60) | st.floats(
    allow_nan=False, allow_infinity=False, width=64
)
SCALARS = st.booleans() | JSON_NUMBERS | NEAR_MISS_TEXT
RAW_VALUES = SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(NEAR_MISS_TEXT, SCALARS, max_size=3)

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _accepts(field: str, value: Any) -> bool:
    context = FieldContext(organisation=None, warnings=WarningCollector())
    try:
        SESSION_RECORD_FIELDS[field].rule(value, context)
    except InvalidValue:
        return False
    return True


@functools.cache
def _validators(field: str) -> tuple[Any, Draft202012Validator]:
    schema = SESSION_RECORD_FIELDS[field].accepts
    return jsonschema_rs.validator_for(schema), Draft202012Validator(schema)


def _is_a_named_gap(field: str, value: Any) -> bool:
    """The gaps `value_schemas` documents (its module docstring), and only those."""
    if field in RESOURCE_ID_FIELDS | BOOLEAN_FIELDS and isinstance(value, float) and value.is_integer():
        return True  # 12.0 is a JSON Schema integer, refused as a resource id (and 1.0 as a boolean)
    if field in URL_FIELDS and isinstance(value, str) and _is_an_unplain_site_path(value.strip(" \t\r\n")):
        return True  # site paths with empty or dot segments or percent-escapes
    if field == "eventapp_background" and isinstance(value, str):
        try:
            return isinstance(json.loads(value), dict)  # a JSON string of CSS properties
        except ValueError:
            return False
    return False


def _is_an_unplain_site_path(text: str) -> bool:
    if not text.startswith("/") or text.startswith("//"):
        return False
    return "%" in text or "/." in text or "//" in text


def _assert_agrees(field: str, value: Any) -> None:
    if _is_a_named_gap(field, value):
        return
    fast, reference = _validators(field)
    accepted = _accepts(field, value)
    assert fast.is_valid(value) == accepted, (field, value, accepted)
    assert reference.is_valid(value) == accepted, (field, value, accepted)


@pytest.mark.parametrize("field", KINDS)
@PROPERTY_SETTINGS
@given(value=RAW_VALUES)
def test_a_near_miss_is_valid_for_the_schema_exactly_when_the_rule_accepts_it(field: str, value: Any) -> None:
    # Given any JSON value made of the characters the rules care about
    # When the field's schema and the field's rule judge it
    # Then they agree
    _assert_agrees(field, value)


def _patterns(schema: dict[str, Any]) -> list[str]:
    branches = schema.get("anyOf", [schema])
    found = [branch["pattern"] for branch in branches if "pattern" in branch]
    found += [branch["items"] for branch in branches if "items" in branch]
    return [pattern for item in found for pattern in (_patterns(item) if isinstance(item, dict) else [item])]


FIELD_PATTERNS = sorted(
    {pattern: field for field in KINDS for pattern in _patterns(SESSION_RECORD_FIELDS[field].accepts)}.items()
)


@pytest.mark.parametrize(("pattern", "field"), FIELD_PATTERNS, ids=[field for _, field in FIELD_PATTERNS])
@settings(PROPERTY_SETTINGS, max_examples=40)
@given(data=st.data())
def test_a_value_generated_from_the_schema_is_accepted_and_one_character_off_is_judged_alike(
    pattern: str, field: str, data: st.DataObject
) -> None:
    # Given a string generated from the field's pattern, as schemathesis generates it
    value = data.draw(st.from_regex(re.compile(pattern), fullmatch=False), label="generated")
    # Then the rule accepts it
    if not _is_a_named_gap(field, value):
        assert _accepts(field, value), (field, value)
    # And with one character changed, added or removed, schema and rule still agree
    position = data.draw(st.integers(min_value=0, max_value=len(value)), label="position")
    character = data.draw(st.sampled_from(NEAR_MISS_ALPHABET), label="character")
    edit = data.draw(st.sampled_from(["insert", "replace", "delete"]), label="edit")
    cut = position + (0 if edit == "insert" else 1)
    changed = value[:position] + ("" if edit == "delete" else character) + value[cut:]
    _assert_agrees(field, changed)


def test_the_whitespace_set_is_what_str_strip_removes() -> None:
    # Given every code point / Then the schemas' whitespace is exactly Python's (none beyond the BMP)
    assert [code for code in range(0x110000) if chr(code).isspace()] == value_schemas.WHITESPACE_CODES


SPOT_CHECKS: list[tuple[str, Any, bool]] = [
    ("allow_survey", " TrUe ", True),
    ("allow_survey", "\u3000off\x85", True),
    ("allow_survey", "yess", False),
    ("allow_survey", 2, False),
    ("resource_id", "Acme/SESSION/0009", True),
    ("resource_id", "acme/location/9", False),
    ("resource_id", "0" * 19 + "1", True),
    ("resource_id", "0" * 20 + "1", False),
    ("resource_id", "9007199254740991", True),
    ("resource_id", "9007199254740992", False),
    ("entry_buffer", "-0", True),
    ("entry_buffer", "-1", False),
    ("categories", " 7 || 12 |", True),
    ("categories", "7 12", False),
    ("start_time", "2024-02-29 09:00", True),
    ("start_time", "2026-02-29 09:00", False),
    ("start_time", "2026-06-15T09:00:00.123+10:00", True),
    ("start_time", "2026-06-15T24:00:00", False),
    ("card_link_type", " EXTERNAL ", True),
    ("card_link_url", "https://example.com/a?x=1&y=2", True),
    ("card_link_url", "https://example.com/a?x=1&amp;y=2", False),
    ("card_link_url", "https://example.com:0/", False),
    ("card_link_url", "//example.com/", False),
    ("eventapp_promo_logo", "/logo.png", True),
    ("eventapp_promo_logo", "javascript:alert(1)", False),
    ("eventapp_promo_logo", "data:image/svg+xml,<svg/onload=alert(1)>", False),
    ("organisation_uid", " \u3000 ", False),
    ("name", "x" * 255, True),
    ("name", "x" * 256, False),
]


@pytest.mark.parametrize(("field", "value", "accepted"), SPOT_CHECKS, ids=lambda v: repr(v)[:30])
def test_schema_and_rule_agree_on_the_edges(field: str, value: Any, accepted: bool) -> None:
    # Given a value on the edge of a rule / When both judge it / Then both give the expected answer
    assert _accepts(field, value) == accepted
    _assert_agrees(field, value)
