"""Strict JSON parsing shared by the ingest API (400 `malformed_json`) and `ingestctl map` (exit 2).

Python's `json` module is lenient where an ingest contract must not be: it accepts NaN/Infinity,
silently keeps the last of duplicate keys, turns `1e400` into infinity, accepts unpaired surrogate
escapes that cannot be stored as UTF-8, and recurses without limit. This module closes those gaps.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from session_ingest import limits
from session_ingest.errors import MalformedJson

_UTF8_BOM = "\ufeff"
# A JSON string literal (escapes included, an unterminated one runs to the end so the scan stays
# linear) or a bracket. Strings are skipped so `"[["` does not count as nesting.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.?)*+(?:"|\Z)|[\[\]{}]', re.DOTALL)
# Cheap pre-check: only bodies containing a surrogate escape need the full surrogate walk.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_json_body(raw: bytes | str, max_depth: int = limits.MAX_JSON_DEPTH) -> Any:
    """Parse `raw` as strict JSON, raising `MalformedJson` with a human reason when it is not."""
    text = _decode(raw)
    if not text.strip():
        raise MalformedJson("the body is empty")
    _check_depth(text, max_depth)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicate_keys,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as error:
        raise MalformedJson(f"{error.msg} at line {error.lineno} column {error.colno}") from None
    except ValueError:  # the only other ValueError: an integer beyond Python's digit limit
        raise MalformedJson("a number has too many digits") from None
    except RecursionError:  # unreachable after the depth check; kept so no input can escape as a crash
        raise MalformedJson(f"the JSON nests deeper than {max_depth} levels") from None
    if _SURROGATE_ESCAPE.search(text) and _contains_lone_surrogate(value):
        raise MalformedJson("a string contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)")
    return value


def _decode(raw: bytes | str) -> str:
    if isinstance(raw, str):
        text = raw
        if not text.isascii() and _has_surrogate(text):
            raise MalformedJson("the body is not valid Unicode (it holds an unpaired surrogate)")
    else:
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as error:
            raise MalformedJson(f"the body is not valid UTF-8 (byte {error.start})") from None
    return text.removeprefix(_UTF8_BOM)


def _check_depth(text: str, max_depth: int) -> None:
    """Reject nesting deeper than `max_depth` without recursing (json.loads itself would recurse)."""
    openers = text.count("[") + text.count("{")
    if openers <= max_depth:  # fast path: there are not even enough brackets to nest that deep
        return
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        lexeme = match.group()
        if lexeme in "[{":
            depth += 1
            if depth > max_depth:
                raise MalformedJson(f"the JSON nests deeper than {max_depth} levels")
        elif lexeme in "]}":
            depth -= 1


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedJson(f"duplicate key {_quote(key)} in an object")
            seen.add(key)
    return obj


def _reject_constant(name: str) -> NoReturn:
    raise MalformedJson(f"{name} is not a valid JSON number")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise MalformedJson(f"the number {literal[:40]} is out of range")
    return number


def _contains_lone_surrogate(value: Any) -> bool:
    """Walk the parsed value iteratively (depth is already bounded, but no recursion is needed)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _quote(key: str) -> str:
    return json.dumps(key[:64] + ("…" if len(key) > 64 else ""), ensure_ascii=True)
