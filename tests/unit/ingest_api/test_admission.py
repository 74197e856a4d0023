"""Size (413) and media type (415) checks made before parsing (pure)."""

from __future__ import annotations

import base64

import pytest

from session_ingest.domain.admission import raw_body, require_json_media_type
from session_ingest.errors import MalformedJson, PayloadTooLarge, UnsupportedMediaType

LIMIT = 64


@pytest.mark.parametrize(
    ("body", "is_base64", "expected"),
    [
        (None, False, b""),
        ("", False, b""),
        ('{"a": 1}', False, b'{"a": 1}'),
        ("é", False, "é".encode()),
        (base64.b64encode(b'{"a": 1}').decode(), True, b'{"a": 1}'),
        ("x" * LIMIT, False, b"x" * LIMIT),
        (base64.b64encode(b"x" * LIMIT).decode(), True, b"x" * LIMIT),
    ],
)
def test_bodies_within_the_limit_are_returned_as_the_clients_bytes(
    body: str | None, is_base64: bool, expected: bytes
) -> None:
    assert raw_body(body, is_base64, LIMIT) == expected


@pytest.mark.parametrize(
    ("body", "is_base64"),
    [
        ("x" * (LIMIT + 1), False),
        ("é" * (LIMIT // 2 + 1), False),  # within the limit in characters, over it in bytes
        (base64.b64encode(b"x" * (LIMIT + 1)).decode(), True),
        ("A" * (LIMIT * 2), True),  # too long to decode within the limit: refused before decoding
    ],
)
def test_bodies_over_the_limit_are_too_large(body: str, is_base64: bool) -> None:
    with pytest.raises(PayloadTooLarge):
        raw_body(body, is_base64, LIMIT)


def test_a_body_flagged_base64_that_is_not_is_malformed() -> None:
    with pytest.raises(MalformedJson):
        raw_body("not base64!", True, LIMIT)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        'application/json;charset="UTF-8"',
        "application/json; charset=utf8",
        "application/vnd.acme.session+json",
        "application/merge-patch+json",
        "application/json; boundary=ignored",
    ],
)
def test_json_media_types_are_accepted(content_type: str) -> None:
    require_json_media_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [None, "", "text/json", "text/plain", "application/xml", "application/+json", "application/jsonp",
     "multipart/form-data", "application/json; charset=latin-1", "json"],
)  # fmt: skip
def test_other_media_types_are_unsupported(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType):
        require_json_media_type(content_type)
