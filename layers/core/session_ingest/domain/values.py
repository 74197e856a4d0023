"""Normalisers for the primitive value kinds of contract §5: booleans, integers, record ids, text, times.

Each takes any JSON value and returns the canonical form, or raises `InvalidValue` with a message an
integrator can act on. Canonical forms are fixed points: normalising an output returns it unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from session_ingest import limits


class InvalidValue(ValueError):
    """A value that cannot be normalised; `message` completes the sentence "<field> …"."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IgnoredValue(ValueError):
    """A value the record leaves out with a warning instead of refusing the payload (contract §5:
    "invalid values are ignored"); `message` completes the sentence "<field> …"."""

    code = "invalid_value_ignored"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


TRUTHY = frozenset({"true", "1", "yes", "y", "on"})
FALSY = frozenset({"false", "0", "no", "n", "off", ""})

# `+12`, `-3`, `0042`: an optional sign and digits. The length bound keeps int() cheap and in range.
_INTEGER_STRING = re.compile(r"[+-]?[0-9]{1,20}")
# The accepted shapes: a date, `T` or a space, hours and minutes, optional seconds and fraction, and
# an optional UTC designator or offset. Checked first so `datetime.fromisoformat` (which also accepts
# dates without times, week dates and more) only ever sees these.
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?"
    r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
# Characters never accepted in text: C0/C1 controls and DEL. Tab, LF and CR are allowed in
# multi-line text only.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def normalise_boolean(value: Any) -> bool:
    """contract §5 truthy/falsy table: booleans, 0/1, and the listed strings (case- and space-insensitive)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value in (0, 1):
            return value == 1
    elif isinstance(value, str):
        word = value.strip().lower()
        if word in TRUTHY:
            return True
        if word in FALSY:
            return False
    raise InvalidValue(
        "must be a boolean: true/false, 1/0, or one of "
        '"true", "1", "yes", "y", "on", "false", "0", "no", "n", "off", ""'
    )


def normalise_integer(value: Any, *, minimum: int = -limits.MAX_SAFE_INTEGER) -> int:
    """An integer, an integral float (`12.0`) or an integer string (`" 12 "`), within range."""
    number: int
    if type(value) is int:  # the common case first (bool is a subclass of int, excluded here)
        number = value
    elif isinstance(value, bool):
        raise InvalidValue("must be an integer, not a boolean")
    elif isinstance(value, int):
        number = int(value)
    elif isinstance(value, float):
        if not value.is_integer():
            raise InvalidValue("must be a whole number")
        if abs(value) > limits.MAX_SAFE_INTEGER:
            raise InvalidValue(_range_message(minimum))
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _INTEGER_STRING.fullmatch(text):
            raise InvalidValue("must be an integer or a string of digits")
        number = int(text)
    else:
        raise InvalidValue("must be an integer or a string of digits")
    if not minimum <= number <= limits.MAX_SAFE_INTEGER:
        raise InvalidValue(_range_message(minimum))
    return number


def normalise_non_negative_integer(value: Any) -> int:
    return normalise_integer(value, minimum=0)


def normalise_record_id(value: Any) -> int:
    """A record id: a positive integer (or integer string)."""
    return normalise_integer(value, minimum=1)


def normalise_record_id_list(value: Any) -> list[int]:
    """`"7|12"`, `[7, 12]`, `["7", "12"]` or a single id → `[7, 12]`.

    Empty pipe segments are skipped (so `""` is the empty list, clearing the assignment) and repeated
    ids kept once, in first-seen order.
    """
    items: Iterable[Any]
    if isinstance(value, str):
        items = [part for part in value.split("|") if part.strip()]
    elif isinstance(value, list):
        items = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        items = [value]
    else:
        raise InvalidValue('must be a pipe-separated string of record ids ("7|12") or an array of integers')
    ids: dict[int, None] = {}
    for position, item in enumerate(items):
        if position >= limits.MAX_RECORD_ID_LIST_ITEMS:
            raise InvalidValue(f"must hold at most {limits.MAX_RECORD_ID_LIST_ITEMS} record ids")
        try:
            ids[normalise_record_id(item)] = None
        except InvalidValue as error:
            raise InvalidValue(f"item {position + 1} {error.message}") from None
    return list(ids)


def normalise_text(value: Any, *, max_chars: int, multi_line: bool = False) -> str:
    """A string, trimmed, within `max_chars`, without control characters (newlines only if multi-line).

    Integers are accepted and written as their decimal string (`"skill_level": 100` → `"100"`).
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 100.0 is the integer 100 (as in JSON Schema)
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > limits.MAX_SAFE_INTEGER:
            raise InvalidValue("must be a string")
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise InvalidValue("must be a string")
    if len(text) > max_chars:
        raise InvalidValue(f"must be at most {max_chars} characters long")
    check_characters(text, multi_line=multi_line)
    return text


def check_characters(text: str, *, multi_line: bool) -> None:
    """Reject control characters and unpaired surrogates (which cannot be stored as UTF-8)."""
    control = (_CONTROL_EXCEPT_LINE_BREAKS if multi_line else _CONTROL).search(text)
    if control is not None:
        kind = "control characters" if multi_line else "line breaks or control characters"
        raise InvalidValue(f"must not contain {kind} (found U+{ord(control.group()):04X})")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidValue("must not contain unpaired UTF-16 surrogates") from None


def is_printable_non_space(text: str) -> bool:
    """True when every character is visible: no whitespace, controls, format or unassigned characters."""
    if text.isascii():
        return all("!" <= char <= "~" for char in text)
    return all(unicodedata.category(char)[0] not in "CZ" for char in text)


def normalise_datetime(value: Any) -> str:
    """`Y-m-d H:i:s` (UTC) or ISO 8601 (with offset, or without = UTC) → `YYYY-MM-DDTHH:MM:SSZ`.

    Session times have second precision: fractional seconds are dropped.
    """
    if not isinstance(value, str):
        raise InvalidValue('must be a date-time string ("2026-06-15 09:00:00" or ISO 8601)')
    text = value.strip()
    if _DATETIME.fullmatch(text) is None:
        raise InvalidValue(
            f'must be "Y-m-d H:i:s" (UTC) or ISO 8601 such as "2026-06-15T09:00:00+10:00"; got {value[:40]!r}'
        )
    try:
        # Upper case: `t` and `z` are valid ISO 8601 but not accepted by fromisoformat.
        return format_datetime(datetime.fromisoformat(text.upper()))
    except (ValueError, OverflowError):
        raise InvalidValue(f"is not a valid date and time: {value[:40]!r}") from None


def format_datetime(moment: datetime) -> str:
    """The stored form `YYYY-MM-DDTHH:MM:SSZ`: UTC, whole seconds; naive times are taken as UTC."""
    offset = moment.utcoffset()
    if offset:
        moment -= offset  # the wall-clock time is now UTC; the (ignored) tzinfo stays attached
    # isoformat always pads the year to four digits, so the first 19 characters are date and time.
    return moment.isoformat()[:19] + "Z"


def normalise_choice(value: Any, choices: frozenset[str]) -> str:
    """One of `choices`, case- and space-insensitive, returned in lower case."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in choices:
            return word
    listed = " or ".join(f'"{choice}"' for choice in sorted(choices))
    raise InvalidValue(f"must be {listed}")


def _range_message(minimum: int) -> str:
    if minimum == 0:
        return f"must be between 0 and {limits.MAX_SAFE_INTEGER}"
    if minimum == 1:
        return f"must be a positive integer no greater than {limits.MAX_SAFE_INTEGER}"
    return f"must be between {minimum} and {limits.MAX_SAFE_INTEGER}"
