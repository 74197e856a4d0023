"""JSON Schemas of the raw values each field rule accepts (contract §5): the OpenAPI request side.

Each schema admits what its normaliser in `values`, `resource_ids` or `urls` accepts, and nothing it
refuses, so a generator (schemathesis) and the API agree on which payloads are valid. The patterns are
written in the subset of regex syntax that ECMA-262 (JSON Schema's dialect), Rust's `regex` (the
`jsonschema_rs` validator) and Python's `re` (hypothesis' generator) read alike: no flags, no `\\s`, no
lookaround, `\\uXXXX` escapes only in the Basic Multilingual Plane. So case-insensitive words are spelled
`[Tt][Rr][Uu][Ee]`, and "trimmed" is the explicit set of characters Python's `str.strip()` removes.

Where the rule cannot be written exactly, the schema's description names the gap:
- integral floats (`12.0`) are JSON Schema integers, which resource ids and booleans (`1.0`) refuse
  (other integer rules accept them);
- another organisation's resource ids fit the pattern but are refused;
- long text and URLs are capped by `maxLength` (which also counts the trimmed whitespace), and
  record-id strings are not counted, because a regex that counts would be too large to compile;
- URLs may hold printable letters beyond the listed Latin, Cyrillic and CJK ones;
- site paths are described by their plain form: empty or dot segments and percent-escapes, which the
  URL rules may accept or refuse (they could spell `//host`), are left out;
- a JSON string of CSS properties other than the blank one is accepted but not listed;
- a time that its offset shifts out of years 1-9999 is refused.
"""

from __future__ import annotations

from typing import Any

from session_ingest import limits
from session_ingest.domain.values import FALSY, TRUTHY

JsonSchema = dict[str, Any]


def _escaped(code: int) -> str:
    return f"\\u{code:04x}"


def _class_of(codes: list[int], *, negated: bool = False, ranges: tuple[tuple[int, int], ...] = ()) -> str:
    """A character class of these (BMP) code points and inclusive ranges, consecutive codes as ranges."""
    parts: list[str] = []
    start = previous = codes[0]
    for code in [*codes[1:], -2]:
        if code != previous + 1:
            parts.append(_escaped(start) if start == previous else f"{_escaped(start)}-{_escaped(previous)}")
            start = code
        previous = code
    parts.extend(f"{_escaped(first)}-{_escaped(last)}" for first, last in ranges)
    return "[" + ("^" if negated else "") + "".join(parts) + "]"


# What `str.isspace()` holds true for (a unit test checks the list against Python's own).
WHITESPACE_CODES = [
    *range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
]  # fmt: skip
_WHITESPACE_CODES = WHITESPACE_CODES
_C0_C1 = [*range(0x00, 0x20), *range(0x7F, 0xA0)]
_C0_C1_EXCEPT_LINE_BREAKS = [code for code in _C0_C1 if code not in (0x09, 0x0A, 0x0D)]

# What `str.strip()` removes (Python's whitespace, which differs from ECMA's and Rust's `\s`).
TRIMMED = _class_of(_WHITESPACE_CODES) + "*"
# A character of single-line text (no C0/C1 controls), of multi-line text (tab, LF and CR allowed),
# and one that is neither a control nor whitespace (the first of a non-empty text).
_LINE_CHARACTER = _class_of(_C0_C1, negated=True)
_MULTI_LINE_CHARACTER = _class_of(_C0_C1_EXCEPT_LINE_BREAKS, negated=True)
_VISIBLE_CHARACTER = _class_of(sorted({*_C0_C1, *_WHITESPACE_CODES}), negated=True)


def case_insensitive(word: str) -> str:
    """`true` → `[Tt][Rr][Uu][Ee]`: matches the word in any case, in every regex dialect."""
    return "".join(f"[{char.upper()}{char.lower()}]" if char.isalpha() else char for char in word)


def _trimmed(body: str) -> str:
    return f"^{TRIMMED}(?:{body}){TRIMMED}$"


# No `examples`: schemathesis would send them as cases of their own, which `@schema.given` refuses.
def _string(pattern: str, description: str | None = None, **extra: Any) -> JsonSchema:
    schema: JsonSchema = {"type": "string", "pattern": pattern, **extra}
    if description:
        schema["description"] = description
    return schema


def _any_of(description: str, *branches: JsonSchema) -> JsonSchema:
    return {"description": description, "anyOf": list(branches)}


# ------------------------------------------------------------------------------------------ integers


def _digits_at_most(bound: str) -> str:
    """Exactly len(bound) digits, no leading zero, with a value ≤ bound (`900` → `[1-8][0-9]{2}|9[0]...`)."""
    alternatives = []
    for position, digit in enumerate(bound):
        lowest = 1 if position == 0 else 0
        if int(digit) > lowest:
            rest = len(bound) - position - 1
            tail = f"[0-9]{{{rest}}}" if rest else ""
            alternatives.append(f"{bound[:position]}[{lowest}-{int(digit) - 1}]{tail}")
    alternatives.append(bound)
    return "|".join(alternatives)


_MAX_DIGITS = 20  # `values._INTEGER_STRING` and `resource_ids._RESOURCE_ID` read at most 20 digits


def _positive_digits() -> str:
    """1..MAX_SAFE_INTEGER in at most 20 digits, leading zeros included."""
    bound = str(limits.MAX_SAFE_INTEGER)
    alternatives = [
        f"0{{0,{_MAX_DIGITS - width}}}[1-9]" + (f"[0-9]{{{width - 1}}}" if width > 1 else "")
        for width in range(1, len(bound))
    ]
    alternatives.append(f"0{{0,{_MAX_DIGITS - len(bound)}}}(?:{_digits_at_most(bound)})")
    return "(?:" + "|".join(alternatives) + ")"


POSITIVE_DIGITS = _positive_digits()
_ZERO_DIGITS = f"0{{1,{_MAX_DIGITS}}}"


def integer_value(minimum: int) -> JsonSchema:
    """`values.normalise_integer(value, minimum=…)`: a JSON integer, or a string of digits, in range."""
    if minimum >= 1:
        digits = rf"\+?{POSITIVE_DIGITS}"
    elif minimum == 0:
        digits = rf"[+-]?{_ZERO_DIGITS}|\+?{POSITIVE_DIGITS}"
    else:
        digits = rf"[+-]?(?:{_ZERO_DIGITS}|{POSITIVE_DIGITS})"
    return _any_of(
        f"An integer from {minimum} to {limits.MAX_SAFE_INTEGER}, or a string of its digits "
        "(optional sign, surrounding whitespace ignored)",
        {"type": "integer", "minimum": minimum, "maximum": limits.MAX_SAFE_INTEGER},
        _string(_trimmed(digits)),
    )


RECORD_ID = integer_value(1)


def record_id_list() -> JsonSchema:
    """`values.normalise_record_id_list`: `"7|12"`, `[7, "12"]`, or one id."""
    separators = _class_of([*_WHITESPACE_CODES, ord("|")]) + "*"
    one = rf"\+?{POSITIVE_DIGITS}"
    listed = rf"^{separators}(?:{one}(?:{TRIMMED}\|{separators}{one})*)?{separators}$"
    return _any_of(
        f'Record ids: a pipe-separated string ("7|12"; empty segments skipped, so "" clears the list), '
        f"an array of ids, or one id; at most {limits.MAX_RECORD_ID_LIST_ITEMS} ids (not counted by the "
        "string pattern: a regex that counts would be too large to compile)",
        {"type": "integer", "minimum": 1, "maximum": limits.MAX_SAFE_INTEGER},
        _string(listed),
        {"type": "array", "maxItems": limits.MAX_RECORD_ID_LIST_ITEMS, "items": RECORD_ID},
    )


# -------------------------------------------------------------------------------------------- text


def text_value(max_chars: int, *, multi_line: bool = False, non_empty: bool = False) -> JsonSchema:
    """`values.normalise_text`: a string (trimmed) of at most `max_chars`, no controls; or an integer."""
    character = _MULTI_LINE_CHARACTER if multi_line else _LINE_CHARACTER
    # A bounded repetition of a Unicode class compiles to a large automaton: past a few hundred
    # characters the cap is `maxLength` instead (which counts the surrounding whitespace too).
    counted = max_chars <= limits.MAX_SINGLE_LINE_TEXT_CHARS
    if non_empty:
        body = f"{_VISIBLE_CHARACTER}{character}" + (f"{{0,{max_chars - 1}}}" if counted else "*")
    else:
        body = character + (f"{{0,{max_chars}}}" if counted else "*")
    kind = "Text" if multi_line else "Single-line text"
    controls = "no control characters but tab, LF and CR" if multi_line else "no line breaks or controls"
    description = f"{kind} of at most {max_chars} characters once trimmed, {controls}"
    if non_empty:
        description += ", not empty"
    string = _string(_trimmed(body))
    if not counted:
        string["maxLength"] = max_chars
    number = {"type": "integer", "minimum": -limits.MAX_SAFE_INTEGER, "maximum": limits.MAX_SAFE_INTEGER}
    return _any_of(description + "; an integer is taken as its decimal digits", string, number)


# ----------------------------------------------------------------------------------------- choices


def boolean_value() -> JsonSchema:
    """`values.normalise_boolean`: booleans, 0/1 and the listed words, case- and space-insensitive."""
    words = sorted((word for word in TRUTHY | FALSY if word), key=lambda word: (-len(word), word))
    pattern = _trimmed("(?:" + "|".join(case_insensitive(word) for word in words) + ")?")
    return _any_of(
        "true/false, 1/0, or (any case, surrounding whitespace ignored) "
        '"true", "1", "yes", "y", "on" / "false", "0", "no", "n", "off", "". Not 1.0 or 0.0, though JSON '
        "Schema counts them as equal to 1 and 0",
        {"type": "boolean"},
        {"type": "integer", "enum": [0, 1]},
        _string(pattern),
    )


def choice_value(choices: frozenset[str]) -> JsonSchema:
    """`values.normalise_choice`: one of `choices`, case- and space-insensitive."""
    ordered = sorted(choices)
    pattern = _trimmed("|".join(case_insensitive(choice) for choice in ordered))
    listed = " or ".join(f"`{choice}`" for choice in ordered)
    return _string(pattern, f"{listed} (any case, surrounding whitespace ignored)")


# ------------------------------------------------------------------------------------------- times

_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]{1,9})?)?"
_OFFSET = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)"


def datetime_value() -> JsonSchema:
    """`values.normalise_datetime`: `Y-m-d H:i:s` (UTC) or ISO 8601, optionally with an offset."""
    return _string(
        _trimmed(rf"{_DATE}[Tt ]{_CLOCK}{_OFFSET}?"),
        '"Y-m-d H:i:s" (taken as UTC) or ISO 8601 with an offset, e.g. "2026-06-15T09:00:00+10:00"; '
        "seconds and the offset are optional. A time that shifts outside years 1-9999 once taken to UTC "
        "is refused (not expressible as a pattern)",
    )


# ------------------------------------------------------------------------------------ resource ids

_ORGANISATION = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"


def resource_id_value(kind: str) -> JsonSchema:
    """`resource_ids.normalise_resource_id`: `{org}/{kind}/{n}` or a plain positive `n`."""
    formatted = _string(_trimmed(rf"(?:{_ORGANISATION}/{case_insensitive(kind)}/)?{POSITIVE_DIGITS}"))
    return _any_of(
        f"`{{org}}/{kind}/{{n}}` or a plain positive integer `n` (as a number or a string). `{{org}}` "
        "must be the endpoint's own organisation (case-insensitive): another organisation's id is a "
        "validation error, which a document shared by every endpoint cannot express. A number with a zero "
        "fraction (`12.0`) is refused too, though JSON Schema counts it as an integer",
        {"type": "integer", "minimum": 1, "maximum": limits.MAX_SAFE_INTEGER},
        formatted,
    )


# -------------------------------------------------------------------------------------------- URLs

# Characters of a URL besides the scheme and host (`urls._check_safe_characters`): printable ASCII
# but space, quotes, backtick, angle brackets and backslash; and, beyond ASCII, a subset of letters
# (Latin, Cyrillic, CJK) every one of which is printable. `&` is handled apart (character references).
_SAFE_ASCII = [code for code in range(0x21, 0x7F) if chr(code) not in "\"'<>\\`&"]
SAFE_NON_ASCII_RANGES = ((0xA1, 0xAC), (0xAE, 0x24F), (0x400, 0x4FF), (0x4E00, 0x9FA5))
_LETTER = "[A-Za-z]"
_ALNUM = "[A-Za-z0-9]"


def _url_text(*, excluded: str = "", first_excluded: str = "", non_empty: bool = False) -> str:
    """A run of URL characters with no HTML character reference (`&#…`, `&name;`), as `urls` requires.

    A small automaton written out as a regex: after `&` no `#`; after `&` and a word, no `;`.
    `excluded` characters may not appear, `first_excluded` ones may not start the run.
    """
    plain = [c for c in _SAFE_ASCII if chr(c) not in excluded]
    after_ampersand = [c for c in plain if not chr(c).isalpha() and chr(c) != "#"]
    after_word = [c for c in plain if not chr(c).isalnum() and chr(c) != ";"]
    first_chars = [c for c in plain if chr(c) not in first_excluded]
    word = f"{_LETTER}{_ALNUM}*"
    to_ampersand = f"(?:&|{word}&)*"

    def of(codes: list[int]) -> str:
        return _class_of(codes, ranges=SAFE_NON_ASCII_RANGES)

    leave = f"(?:{of(after_ampersand)}|{word}{of(after_word)})"
    end = f"(?:{word})?"
    unit = f"(?:{of(plain)}|&{to_ampersand}{leave})"
    first = f"(?:{of(first_chars)}|&{to_ampersand}{leave})"
    tail = f"(?:&{to_ampersand}{end})?"
    if not (first_excluded or non_empty):
        return f"{unit}*{tail}"
    run = f"(?:{first}{unit}*{tail}|&{to_ampersand}{end})"
    return run if non_empty else f"{run}?"


# A site path's segments: not empty, not starting with `.`, no `%`. A subset of what `urls` accepts:
# `/./`, `/../`, `//` inside and percent-escapes could spell `//host` once resolved or decoded, and
# which of those are refused is the URL rules' business; the document promises only the plain ones.
_SITE_PATH_SEGMENT = _url_text(excluded="/%", first_excluded=".", non_empty=True)
_SITE_PATH = f"/(?:{_SITE_PATH_SEGMENT}(?:/{_SITE_PATH_SEGMENT})*/?)?"

_HOST_CHARACTER = _class_of(
    sorted(map(ord, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")),
    ranges=SAFE_NON_ASCII_RANGES,
)
_HOST_LABEL = f"{_HOST_CHARACTER}(?:{_HOST_CHARACTER}|-)*"
_PORT = (
    r"(?:0{0,4}[1-9]|0{0,3}[1-9][0-9]|0{0,2}[1-9][0-9]{2}|0?[1-9][0-9]{3}|[1-5][0-9]{4}"
    r"|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
)
_AUTHORITY = rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::{_PORT})?"
_URL_EDGE = r"[\u0009\u000a\u000d\u0020]*"  # `urls.normalise_link_url` trims only these


def url_value(what: str) -> JsonSchema:
    """`urls.normalise_link_url`: an http(s) URL or a site path, with only safe characters."""
    absolute = rf"{case_insensitive('http')}[Ss]?://{_AUTHORITY}(?:[/?#]{_url_text()})?"
    return _string(
        rf"^{_URL_EDGE}(?:{absolute}|{_SITE_PATH}){_URL_EDGE}$",
        f"{what}: an `http`/`https` URL or a site path such as `/sessions/1` (not `//host`); any other "
        "scheme, whitespace, quotes, backticks, angle brackets, backslashes, HTML character references "
        "and user@host credentials are refused. Beyond ASCII, printable letters are accepted too; the "
        "pattern lists Latin, Cyrillic and CJK ones only. Site paths are described by their plain form "
        "(segments not empty and not starting with `.`, no percent-escapes)",
        maxLength=limits.MAX_URL_CHARS,
    )


# ----------------------------------------------------------------------------------------- objects


def css_properties_value() -> JsonSchema:
    """`css.normalise_background`: an object of CSS properties, or a JSON string of one."""
    return _any_of(
        f"CSS properties: an object of at most {limits.MAX_CSS_PROPERTIES} properties, or a JSON string "
        "of one (the pattern admits only the blank string, i.e. no properties: JSON cannot be described "
        "by a pattern). Unsafe or invalid properties are dropped with a warning",
        {"type": "object", "maxProperties": limits.MAX_CSS_PROPERTIES},
        _string(f"^{TRIMMED}$"),
    )
