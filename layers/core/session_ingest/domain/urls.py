"""Card link URLs (contract §5): `http`/`https` URLs, or a site path such as `/sessions/1` for internal links.

An allow-list, not a block-list: rather than hunting for `javascript:` in every case and encoding
(`JaVaScRiPt:`, `java\tscript:`, `&#106;avascript:`, `%6Aavascript:`, a leading space …), a value
is accepted only when it literally starts with `http://`, `https://` or a single `/`, contains no
whitespace, control, quote or angle-bracket characters, no backslash and no character reference.
Whatever a browser decodes from such a string cannot change its scheme.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import unquote

from session_ingest import limits
from session_ingest.domain.values import InvalidValue, is_printable_non_space

_SCHEME = re.compile(r"(?i:https?)://")
# HTML character references (`&#58;`, `&#x3A;`, `&colon;`) would be decoded by a browser in an
# attribute; in a real URL `&` is followed by a query parameter name and `=`, never `#` or `name;`.
_CHARACTER_REFERENCE = re.compile(r"&(?:#|[A-Za-z][A-Za-z0-9]*;)")
# ASCII that never appears literally in a safe URL: controls, space and DEL; and characters that
# could end an HTML attribute or be read as a path separator (quotes, backtick, `<>`, backslash).
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_MARKUP_OR_BACKSLASH = re.compile(r"[\\\"'<>`]")
# Dot-separated labels (each starting with a letter or digit, so matching stays linear), or an IPv6
# literal in brackets. Non-ASCII letters are allowed for internationalised domain names. The classes are
# `[A-Za-z0-9_\u0080-\U0010ffff]` (and the same with `-`) written as their complements within ASCII:
# the same characters (tests/unit/domain/test_urls.py), but a range up to U+10FFFF took ~18 ms to
# compile, at every cold start.
_LABEL_START = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
_LABEL_CONTINUE = r"[^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
_LABEL = rf"{_LABEL_START}{_LABEL_CONTINUE}*"
_AUTHORITY = re.compile(
    rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?(?=[/?#]|\Z)"
)

URL_RULE = 'must be an http(s) URL such as "https://example.com/page"'
PATH_RULE = 'or a site path such as "/sessions/1"'


def normalise_link_url(value: Any) -> str:
    """An absolute http(s) URL or a site path; the scheme is written in lower case."""
    if not isinstance(value, str):
        raise InvalidValue(f"{URL_RULE} {PATH_RULE}")
    text = value.strip(" \t\r\n")
    if len(text) > limits.MAX_URL_CHARS:
        raise InvalidValue(f"must be at most {limits.MAX_URL_CHARS} characters long")
    _check_safe_characters(text)
    if is_site_path(text):
        return text
    if text.startswith("/") and not text.startswith("//"):
        raise InvalidValue(
            "must be a path on this site: not //host, nor a backslash, an encoded slash, "
            "a full-width slash or a . or .. segment that could make it one"
        )
    scheme = _SCHEME.match(text)
    if scheme is None:
        raise InvalidValue(f"{URL_RULE} {PATH_RULE}; other schemes are not allowed")
    _check_authority(text, scheme.end())
    return text[: scheme.end()].lower() + text[scheme.end() :]


def is_site_path(text: str) -> bool:
    """`/sessions/1`, not `//host` (a protocol-relative URL leaving the site) in any disguise.

    Judged on what a browser, proxy or server may make of it: percent-decoded (twice, for `%252F`),
    NFKC-folded (the full-width solidus U+FF0F becomes `/`), backslashes read as slashes. That form
    must not start with `//`, and no path segment may be `.` or `..` (`/.//evil.com` resolves to
    `//evil.com`).
    """
    if not text.startswith("/") or text.startswith("//"):
        return False
    seen = unicodedata.normalize("NFKC", unquote(unquote(text))).replace("\\", "/")
    path = re.split(r"[?#]", seen, maxsplit=1)[0]
    return not seen.startswith("//") and not any(segment in (".", "..") for segment in path.split("/"))


def _check_safe_characters(text: str) -> None:
    if not text:
        raise InvalidValue(f"{URL_RULE} {PATH_RULE}")
    if _SPACE_OR_CONTROL.search(text) or not (text.isascii() or is_printable_non_space(text)):
        raise InvalidValue("must not contain whitespace, control or invisible characters")
    if _MARKUP_OR_BACKSLASH.search(text):
        raise InvalidValue("must not contain backslashes, quotes, backticks or angle brackets")
    if _CHARACTER_REFERENCE.search(text):
        raise InvalidValue("must not contain HTML character references such as &#58; or &colon;")


def _check_authority(text: str, start: int) -> None:
    """The host must be a host name or IP literal, the port 1-65535; credentials (`user@host`) are refused."""
    authority = _AUTHORITY.match(text, start)
    if authority is None:
        if "@" in re.split(r"[/?#]", text[start:], maxsplit=1)[0]:
            raise InvalidValue("must not contain credentials (user@host)")
        raise InvalidValue(f"{URL_RULE}: the host is missing or invalid")
    port = authority["port"]
    if port is not None and not 0 < int(port) <= 65535:
        raise InvalidValue(f"{URL_RULE}: the port {port} is invalid")
