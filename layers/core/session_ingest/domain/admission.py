"""The checks made before a body is parsed or a token looked at: size (413) and media type (415). Pure."""

from __future__ import annotations

import base64
import binascii

from session_ingest import limits
from session_ingest.errors import MalformedJson, PayloadTooLarge, UnsupportedMediaType

_UTF8_CHARSETS = {"utf-8", "utf8"}


def raw_body(body: str | None, is_base64_encoded: bool, max_bytes: int = limits.MAX_BODY_BYTES) -> bytes:
    """The request body as the client sent it, refused with PayloadTooLarge above `max_bytes`.

    API Gateway hands text bodies over decoded and binary ones base64-encoded; either way the limit
    applies to the client's bytes. Oversized bodies are refused before they are decoded or copied.
    """
    if not body:
        return b""
    if is_base64_encoded:
        # 4 base64 characters carry 3 bytes: anything longer than this cannot decode to <= max_bytes.
        if len(body) > 4 * -(-max_bytes // 3):
            raise PayloadTooLarge(max_bytes)
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise MalformedJson("the body is not valid base64") from error
    else:
        if len(body) > max_bytes:  # each character is at least one byte
            raise PayloadTooLarge(max_bytes)
        # surrogatepass keeps lone surrogates as (invalid) bytes for the JSON parser to refuse.
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > max_bytes:
        raise PayloadTooLarge(max_bytes)
    return raw


def require_json_media_type(content_type: str | None) -> None:
    """Accept `application/json` and `application/<anything>+json`, in UTF-8 when a charset is named."""
    if not content_type:
        raise UnsupportedMediaType
    media_type, _, parameters = content_type.partition(";")
    kind, _, subtype = media_type.strip().lower().partition("/")
    structured_json = subtype.endswith("+json") and len(subtype) > len("+json")
    if kind != "application" or not (subtype == "json" or structured_json):
        raise UnsupportedMediaType
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in _UTF8_CHARSETS:
            raise UnsupportedMediaType
