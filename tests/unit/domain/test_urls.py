"""Card link URLs: http(s) or a site path; every other scheme, in any case or encoding, is refused."""

from __future__ import annotations

import re
import string
import sys
from typing import Any

import pytest

from session_ingest import limits
from session_ingest.domain import urls
from session_ingest.domain.urls import normalise_link_url
from session_ingest.domain.values import InvalidValue


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com/session-details", "https://example.com/session-details"),
        ("http://example.com", "http://example.com"),
        ("HTTPS://Example.com/A?b=1&c=2#d", "https://Example.com/A?b=1&c=2#d"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://[2001:db8::1]/x", "https://[2001:db8::1]/x"),
        ("https://例え.jp/パス", "https://例え.jp/パス"),
        ("https://example.com/a%20b", "https://example.com/a%20b"),
        ("/sessions/1", "/sessions/1"),
        ("/", "/"),
        ("  https://example.com/padded\n", "https://example.com/padded"),
    ],
)
def test_http_urls_and_site_paths_are_accepted(value: str, expected: str) -> None:
    # Given an http(s) URL or a site path / When normalised / Then it is kept (scheme in lower case)
    assert normalise_link_url(value) == expected


SCRIPT_SCHEMES = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "\x00javascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "java\u200bscript:alert(1)",
    "\u00a0javascript:alert(1)",
    "\ufeffjavascript:alert(1)",
    "javascript&colon;alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "&#0000106avascript:alert(1)",
    "jav&#x09;ascript:alert(1)",
    "%6Aavascript:alert(1)",
    "javascript%3Aalert(1)",
    "javascript://example.com/%0Aalert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://example.com/",
    "mailto:a@example.com",
    "//evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example\\x",
    "https:/example.com",
    "https:example.com",
    "http\\://example.com",
    "https://example.com@evil.example/",
    "https://user:pass@example.com/",
    "https://",
    "https:///path",
    "https://exa mple.com/",
    "https://example.com/\u202etxt.exe",
    'https://example.com/"onmouseover="alert(1)',
    "https://example.com/'><script>",
    "https://example.com/`x`",
    "/path/&#x2F;&#x2F;evil",
    "https://example.com:99999/",
    "https://-bad.example/",
    "example.com/page",
    "",
]


@pytest.mark.parametrize("value", SCRIPT_SCHEMES, ids=repr)
def test_other_schemes_and_encoded_tricks_are_rejected(value: str) -> None:
    # Given a URL that is not plainly http(s) or a site path, however it is disguised
    # When normalised / Then it is a validation error
    with pytest.raises(InvalidValue):
        normalise_link_url(value)


SITE_PATHS_LEAVING_THE_SITE = [
    "/.//evil.com",
    "/./evil.com/../..//evil.com",
    "/%2F/evil.com",
    "/%2f%2fevil.com",
    "/%252F/evil.com",
    "/%5Cevil.com",
    "/%5cevil.com",
    "/\uff0fevil.com",  # full-width solidus: NFKC makes it "//evil.com"
    "/\ufe68evil.com",  # small reverse solidus: NFKC makes it a backslash
    "/%2e%2e//evil.com",
    "/sessions/../../evil",
    "/sessions/.",
]


@pytest.mark.parametrize("value", SITE_PATHS_LEAVING_THE_SITE, ids=repr)
def test_site_paths_that_could_leave_the_site_are_rejected(value: str) -> None:
    # Given a site path that decodes, folds or resolves to a protocol-relative //host
    # When normalised / Then it is a validation error saying it must stay on the site
    with pytest.raises(InvalidValue, match="path on this site"):
        normalise_link_url(value)


@pytest.mark.parametrize(
    "value",
    [
        "/sessions/1",
        "/a//b",
        "/agenda?day=2#talk-3",
        "/files/report%20final.pdf",
        "/...x/y",
        "/.well-known/x",
    ],
)
def test_ordinary_site_paths_stay_accepted(value: str) -> None:
    # Given an ordinary path on the site / When normalised / Then it is kept as given
    assert normalise_link_url(value) == value


@pytest.mark.parametrize("value", [None, 1, True, ["https://example.com"], {"url": "x"}], ids=repr)
def test_non_strings_are_rejected(value: Any) -> None:
    # Given a value that is not a string / When normalised / Then it is a validation error
    with pytest.raises(InvalidValue, match="http"):
        normalise_link_url(value)


def test_overlong_urls_are_rejected() -> None:
    # Given a URL longer than the cap / When normalised / Then the length is the reason
    with pytest.raises(InvalidValue, match="at most"):
        normalise_link_url("https://example.com/" + "a" * limits.MAX_URL_CHARS)


@pytest.mark.parametrize(
    ("label_class", "allowed_ascii"),
    [
        (urls._LABEL_START, string.ascii_letters + string.digits + "_"),
        (urls._LABEL_CONTINUE, string.ascii_letters + string.digits + "_-"),
    ],
)
def test_a_host_label_allows_ascii_letters_digits_underscore_and_every_non_ascii_character(
    label_class: str, allowed_ascii: str
) -> None:
    # Given every code point, one character each
    every_character = "".join(map(chr, range(sys.maxunicode + 1)))
    # When a host label's character class picks out the characters it allows
    allowed = "".join(re.findall(label_class, every_character))
    # Then they are the listed ASCII characters and everything from U+0080 up, and nothing else
    expected = "".join(sorted(allowed_ascii)) + every_character[0x80:]
    assert allowed == expected
