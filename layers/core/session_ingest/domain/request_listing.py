"""An endpoint's requests, newest first, one page at a time: the query and its cursor (contract §9).

The cursor is opaque to clients: URL-safe base64 of the position after which the next page starts
(the last request's accept time and id) and of the endpoint it belongs to, followed by a digest of both.
Decoding refuses anything that is not exactly such a cursor for *this* endpoint, so a cursor from another
endpoint, a truncated or edited one, or a made-up one is a clear 400 and never reaches DynamoDB. The
digest is not a secret-keyed signature, and need not be: the query itself is keyed by the authenticated
endpoint, so a re-signed cursor can only position a client inside its own requests (as `since` can).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from session_ingest import limits
from session_ingest.domain.models import StoredOutcome
from session_ingest.domain.request_lifecycle import RequestStatus
from session_ingest.domain.utc import parse_utc
from session_ingest.errors import InvalidListingQuery

CURSOR_VERSION = 1
_DIGEST_BYTES = 16
_DIGEST_CONTEXT = b"session-ingest requests cursor v1\x00"
_STORED_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_CURSOR = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class ListingPosition:
    """Where a page ended: the next page holds only requests listed after this one (older, or same
    accept time and a smaller id, as the index orders them)."""

    accepted_at: str  # as stored: format_utc
    request_id: str


@dataclass(frozen=True)
class ListingQuery:
    endpoint_id: str
    status: RequestStatus | None = None
    since: datetime | None = None
    limit: int = limits.DEFAULT_REQUESTS_PAGE
    after: ListingPosition | None = None


@dataclass(frozen=True)
class ListingPage:
    """One page, newest first; `next` is where the following page starts (None: nothing more)."""

    outcomes: list[StoredOutcome] = field(default_factory=list)
    next: ListingPosition | None = None


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _digest(endpoint_id: str, payload: bytes) -> bytes:
    return hashlib.sha256(_DIGEST_CONTEXT + endpoint_id.encode() + b"\x00" + payload).digest()[:_DIGEST_BYTES]


def encode_cursor(endpoint_id: str, position: ListingPosition) -> str:
    """The opaque cursor of `position` in `endpoint_id`'s listing."""
    document = {"v": CURSOR_VERSION, "e": endpoint_id, "a": position.accepted_at, "r": position.request_id}
    payload = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64encode(payload)}.{_b64encode(_digest(endpoint_id, payload))}"


def decode_cursor(endpoint_id: str, cursor: str) -> ListingPosition:
    """The position a cursor of this endpoint's listing names; InvalidListingQuery for anything else."""
    if len(cursor) > limits.MAX_CURSOR_CHARS or not _CURSOR.fullmatch(cursor):
        raise InvalidListingQuery("cursor", "not a cursor of this listing")
    encoded_payload, encoded_digest = cursor.split(".")
    try:
        payload, digest = _b64decode(encoded_payload), _b64decode(encoded_digest)
    except (binascii.Error, ValueError):
        raise InvalidListingQuery("cursor", "not a cursor of this listing") from None
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise InvalidListingQuery("cursor", "not a cursor of this listing") from None
    if not isinstance(document, dict) or document.get("e") != endpoint_id:
        raise InvalidListingQuery("cursor", "this cursor belongs to another listing")
    if not hmac.compare_digest(digest, _digest(endpoint_id, payload)):
        raise InvalidListingQuery("cursor", "not a cursor of this listing (altered)")
    accepted_at, request_id = document.get("a"), document.get("r")
    if (
        document.get("v") != CURSOR_VERSION
        or not isinstance(accepted_at, str)
        or not _STORED_UTC.fullmatch(accepted_at)
        or not isinstance(request_id, str)
        or not _is_uuid(request_id)
    ):
        raise InvalidListingQuery("cursor", "not a cursor of this listing")
    return ListingPosition(accepted_at, request_id)


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _status(text: str) -> RequestStatus:
    try:
        return RequestStatus(text)
    except ValueError:
        allowed = ", ".join(status.value for status in RequestStatus)
        raise InvalidListingQuery("status", f"must be one of {allowed}") from None


def _since(text: str) -> datetime:
    try:
        return parse_utc(text.upper())  # RFC 3339 allows a lower-case "t" and "z"
    except (ValueError, OverflowError):  # not ISO 8601, or no representable UTC time
        raise InvalidListingQuery("since", "must be an ISO 8601 time, e.g. 2026-06-14T09:00:00Z") from None


def _limit(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= limits.MAX_REQUESTS_PAGE:
        raise InvalidListingQuery("limit", f"must be an integer from 1 to {limits.MAX_REQUESTS_PAGE}")
    return int(text)


LISTING_PARAMETERS = ("status", "since", "limit", "cursor")


def parse_listing_query(endpoint_id: str, parameters: Mapping[str, str | None]) -> ListingQuery:
    """The listing asked for by query-string (or CLI) parameters.

    An unknown parameter is refused rather than ignored: a misspelt `stauts=failed` would otherwise list
    every request as if the filter applied."""
    unknown = sorted(set(parameters) - set(LISTING_PARAMETERS))
    if unknown:
        raise InvalidListingQuery(unknown[0], f"is not a parameter; use {', '.join(LISTING_PARAMETERS)}")
    status, since, limit, cursor = (parameters.get(name) for name in LISTING_PARAMETERS)
    return ListingQuery(
        endpoint_id=endpoint_id,
        # Present but empty (`?since=`) is not absent: it is refused like any unusable value.
        status=_status(status) if status is not None else None,
        since=_since(since) if since is not None else None,
        limit=_limit(limit) if limit is not None else limits.DEFAULT_REQUESTS_PAGE,
        after=decode_cursor(endpoint_id, cursor) if cursor is not None else None,
    )
