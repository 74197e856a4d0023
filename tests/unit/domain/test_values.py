"""The primitive value rules of contract §5: truthy/falsy table, integers, record ids, text and times."""

from __future__ import annotations

from typing import Any

import pytest

from session_ingest import limits
from session_ingest.domain.values import (
    InvalidValue,
    normalise_boolean,
    normalise_datetime,
    normalise_integer,
    normalise_non_negative_integer,
    normalise_record_id,
    normalise_record_id_list,
    normalise_text,
)

TRUTHY = [True, 1, "1", "true", "yes", "y", "on", "TRUE", " Yes ", "Y", "On", "\ttrue\n"]
FALSY = [False, 0, "0", "false", "no", "n", "off", "", "FALSE", " No ", "N", "OFF", "   "]
NOT_BOOLEAN = [2, -1, 1.0, 0.0, "2", "truthy", "t", "f", "nope", "enabled", None, [], {}, [True]]


@pytest.mark.parametrize("value", TRUTHY, ids=repr)
def test_truthy_values_normalise_to_true(value: Any) -> None:
    # Given a value of the truthy column / When normalised / Then it is True
    assert normalise_boolean(value) is True


@pytest.mark.parametrize("value", FALSY, ids=repr)
def test_falsy_values_normalise_to_false(value: Any) -> None:
    # Given a value of the falsy column / When normalised / Then it is False
    assert normalise_boolean(value) is False


@pytest.mark.parametrize("value", NOT_BOOLEAN, ids=repr)
def test_anything_else_is_not_a_boolean(value: Any) -> None:
    # Given a value in neither column / When normalised / Then it is a validation error
    with pytest.raises(InvalidValue, match="must be a boolean"):
        normalise_boolean(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), (-3, -3), ("3", 3), (" 42 ", 42), ("+7", 7), ("-7", -7), ("007", 7), (12.0, 12), (0, 0)],
    ids=repr,
)
def test_integers_and_integer_strings_are_integers(value: Any, expected: int) -> None:
    # Given an integer, integral float or integer string / When normalised / Then it is the int
    assert normalise_integer(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "not a boolean"),
        (1.5, "whole number"),
        ("1.5", "string of digits"),
        ("1e3", "string of digits"),
        ("twelve", "string of digits"),
        ("", "string of digits"),
        ("1 2", "string of digits"),
        ("9" * 30, "string of digits"),
        (limits.MAX_SAFE_INTEGER + 1, "between"),
        (float(2**60), "between"),
        (float("nan"), "whole number"),
        (None, "must be an integer"),
        ([1], "must be an integer"),
    ],
    ids=repr,
)
def test_non_integers_are_rejected(value: Any, message: str) -> None:
    # Given something that is not an integer / When normalised / Then the error says so
    with pytest.raises(InvalidValue, match=message):
        normalise_integer(value)


def test_buffers_must_not_be_negative() -> None:
    # Given a negative number of minutes / When normalised as a buffer / Then it is rejected
    with pytest.raises(InvalidValue, match="between 0 and"):
        normalise_non_negative_integer("-5")


@pytest.mark.parametrize("value", [0, "0", -1])
def test_record_ids_are_positive(value: Any) -> None:
    # Given a zero or negative id / When normalised / Then it is rejected
    with pytest.raises(InvalidValue, match="positive"):
        normalise_record_id(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7|12", [7, 12]),
        (" 7 | 12 ", [7, 12]),
        ("7", [7]),
        ("", []),
        ("7||12|", [7, 12]),
        ([7, 12], [7, 12]),
        (["7", "12"], [7, 12]),
        ([], []),
        (7, [7]),
        ("12|7|12", [12, 7]),
    ],
    ids=repr,
)
def test_record_id_lists_come_from_pipe_strings_or_arrays(value: Any, expected: list[int]) -> None:
    # Given a pipe string, an array or a single id / When normalised / Then it is a list of ints
    assert normalise_record_id_list(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("7|x", "item 2 must be an integer"),
        ("7,12", "item 1 must be an integer"),
        ([7, None], "item 2 must be an integer"),
        ([7, 0], "item 2 must be a positive"),
        ([[7]], "item 1 must be an integer"),
        ({"7": True}, "pipe-separated"),
        (True, "pipe-separated"),
        (list(range(1, limits.MAX_RECORD_ID_LIST_ITEMS + 2)), "at most"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_malformed_record_id_lists_are_rejected(value: Any, message: str) -> None:
    # Given a list that is not record ids / When normalised / Then the error names the problem
    with pytest.raises(InvalidValue, match=message):
        normalise_record_id_list(value)


@pytest.mark.parametrize(
    ("value", "multi_line", "expected"),
    [
        ("  Cloud 101 ", False, "Cloud 101"),
        (100, False, "100"),
        ("Line one\nLine two\ttab", True, "Line one\nLine two\ttab"),
        ("Caf\u00e9 \u2013 \U0001f600", False, "Caf\u00e9 \u2013 \U0001f600"),
        ("", False, ""),
    ],
    ids=repr,
)
def test_text_is_trimmed_and_kept(value: Any, multi_line: bool, expected: str) -> None:
    # Given text / When normalised / Then it is the trimmed string
    assert normalise_text(value, max_chars=255, multi_line=multi_line) == expected


@pytest.mark.parametrize(
    ("value", "multi_line", "message"),
    [
        ("a\nb", False, "line breaks"),
        ("a\x00b", True, "control characters"),
        ("a\x1bb", True, "control characters"),
        ("a\x85b", True, "control characters"),
        ("a\ud800b", True, "surrogates"),
        ("x" * 256, False, "at most 255"),
        (True, False, "must be a string"),
        (1.5, False, "must be a string"),
        (["a"], False, "must be a string"),
        ({"a": 1}, False, "must be a string"),
    ],
    ids=repr,
)
def test_bad_text_is_rejected(value: Any, multi_line: bool, message: str) -> None:
    # Given text that breaks a rule / When normalised / Then the error says which
    with pytest.raises(InvalidValue, match=message):
        normalise_text(value, max_chars=255, multi_line=multi_line)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06-14 23:00:00", "2026-06-14T23:00:00Z"),
        ("2026-06-15T09:00:00+10:00", "2026-06-14T23:00:00Z"),
        ("2026-06-15T09:00:00+1000", "2026-06-14T23:00:00Z"),
        ("2026-06-15T09:00+10", "2026-06-14T23:00:00Z"),
        ("2026-06-14T18:30:00-04:30", "2026-06-14T23:00:00Z"),
        ("2026-06-14T23:00:00Z", "2026-06-14T23:00:00Z"),
        ("2026-06-14t23:00:00z", "2026-06-14T23:00:00Z"),
        ("2026-06-14T23:00:00", "2026-06-14T23:00:00Z"),
        ("2026-06-14T23:00:00.999+00:00", "2026-06-14T23:00:00Z"),
        ("2026-06-14 23:00:00+00:00", "2026-06-14T23:00:00Z"),
        ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00Z"),
        ("2028-02-29 12:00:00", "2028-02-29T12:00:00Z"),
        ("  2026-06-14 23:00:00 ", "2026-06-14T23:00:00Z"),
    ],
)
def test_times_are_stored_as_utc_iso_8601(value: str, expected: str) -> None:
    # Given a MySQL datetime (UTC) or an ISO 8601 time / When normalised / Then it is UTC with Z
    assert normalise_datetime(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2026-06-15",
        "09:00:00",
        "15/06/2026 09:00",
        "2026-06-15T09:00:00 +10:00",
        "2026-13-01 00:00:00",
        "2026-02-30 00:00:00",
        "2027-02-29 00:00:00",
        "2026-06-15 24:00:00",
        "2026-06-15 23:60:00",
        "2026-06-15T09:00:00+24:00",
        "2026-W24-1T09:00:00",
        "20260615T090000Z",
        "0001-01-01T00:00:00+01:00",
        "",
        1718406000,
        None,
        ["2026-06-15 09:00:00"],
    ],
    ids=repr,
)
def test_anything_else_is_not_a_time(value: Any) -> None:
    # Given a value that is no supported time / When normalised / Then it is a validation error
    with pytest.raises(InvalidValue):
        normalise_datetime(value)
