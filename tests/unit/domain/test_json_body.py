"""Strict JSON bodies: what `parse_json_body` accepts, and each way a body is malformed."""

from __future__ import annotations

import pytest

from session_ingest import limits
from session_ingest.domain.json_body import parse_json_body
from session_ingest.errors import MalformedJson


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"session": {"name": "A"}}', {"session": {"name": "A"}}),
        ('{"session": {"name": "A"}}', {"session": {"name": "A"}}),
        ("\ufeff[1, 2.5]".encode(), [1, 2.5]),
        ('"\\ud83d\\ude00"', "\U0001f600"),
        ('{"brackets": "[[[[{{{{"}', {"brackets": "[[[[{{{{"}),
        ('{"a": {"a": 1}}', {"a": {"a": 1}}),
    ],
    ids=["bytes", "text", "utf8-bom", "surrogate-pair", "brackets-in-strings", "same-key-in-nested-objects"],
)
def test_strict_json_is_parsed(raw: bytes | str, expected: object) -> None:
    # Given a well-formed body / When it is parsed / Then the value comes back
    assert parse_json_body(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"  \n ", "empty"),
        (b'{"name": "caf\xe9"}', "not valid UTF-8"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        ('{"name": "A", "name": "B"}', 'duplicate key "name"'),
        ('{"session": {"x": 1, "x": 1}}', 'duplicate key "x"'),
        ('{"n": NaN}', "NaN"),
        ('{"n": Infinity}', "Infinity"),
        ('{"n": -Infinity}', "-Infinity"),
        ('{"n": 1e400}', "out of range"),
        ('{"n": ' + "9" * 5000 + "}", "too many digits"),
        ('{"name": "\\ud800"}', "unpaired"),
        ('["\\udc00x"]', "unpaired"),
        ('["\ud800"]', "unpaired"),
        ('{"name": }', "Expecting value at line 1 column 10"),
        ("{'name': 'A'}", "Expecting property name"),
        ('{"a": 1} trailing', "Extra data"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else None,
)
def test_malformed_json_is_rejected_with_a_reason(raw: bytes | str, reason: str) -> None:
    # Given a body that is not strict JSON
    # When it is parsed / Then MalformedJson says why
    with pytest.raises(MalformedJson) as caught:
        parse_json_body(raw)
    assert reason in caught.value.reason


def test_nesting_up_to_the_limit_is_accepted() -> None:
    # Given a body nested exactly to the limit
    raw = "[" * limits.MAX_JSON_DEPTH + "]" * limits.MAX_JSON_DEPTH
    # When it is parsed / Then it is accepted
    assert isinstance(parse_json_body(raw), list)


def test_nesting_one_level_deeper_than_the_limit_is_rejected() -> None:
    # Given a body one level deeper than the limit, mixing objects and arrays
    depth = limits.MAX_JSON_DEPTH + 1
    raw = '{"a": [' * (depth // 2) + "{}" + "]}" * (depth // 2)
    # When it is parsed / Then the depth is the reason
    with pytest.raises(MalformedJson, match="deeper than"):
        parse_json_body(raw)


def test_very_deep_nesting_is_rejected_without_recursing() -> None:
    # Given a body nested far beyond Python's recursion limit
    raw = "[" * 200_000 + "]" * 200_000
    # When it is parsed / Then it is a MalformedJson, not a RecursionError
    with pytest.raises(MalformedJson, match="deeper than"):
        parse_json_body(raw)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    # Given a shallow body whose strings are full of brackets (and escaped quotes)
    raw = '{"a": "' + '[{\\"' * 100 + '"}'
    # When it is parsed / Then it is accepted
    assert parse_json_body(raw) == {"a": '[{"' * 100}


def test_a_smaller_depth_limit_can_be_asked_for() -> None:
    # Given a body of depth 3 / When parsed with a limit of 2 / Then it is rejected
    with pytest.raises(MalformedJson, match="deeper than 2"):
        parse_json_body('{"a": {"b": [1]}}', max_depth=2)
