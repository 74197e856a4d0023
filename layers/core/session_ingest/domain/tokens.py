"""Endpoint tokens: their format, hashing and checking (pure; storage lives in adapters/endpoint_store).

A token reads `sit_<token_id>_<secret>`: the recognisable prefix lets secret scanners spot a leaked
token, and the embedded token id lets the API find the stored hash without searching. Only a SHA-256
hash of the secret is stored. The secret carries 256 bits of randomness, so a fast hash is the right
tool (a slow password hash protects low-entropy secrets and would only add latency here).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

TOKEN_PREFIX = "sit"  # noqa: S105 - the public prefix of every token
_SECRET_BYTES = 32
# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
# Matched with fullmatch: `$` would also match before a trailing newline ("sit_…\n").
_TOKEN_PATTERN = re.compile(r"sit_(?P<token_id>[0-9a-f]{32})_(?P<secret>[A-Za-z0-9_-]{43})")
_BEARER_PATTERN = re.compile(r"Bearer[ \t]+(?P<token>\S+)[ \t]*", re.IGNORECASE)


@dataclass(frozen=True)
class IssuedToken:
    """A newly issued token. `token` is shown once and never stored; `secret_hash` is what is stored."""

    token_id: str
    token: str = field(repr=False)
    secret_hash: str = field(repr=False)


@dataclass(frozen=True)
class PresentedToken:
    """A well-formed token taken from an Authorization header (not yet checked against the store)."""

    token_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class StoredToken:
    """What the endpoints table keeps of a token."""

    token_id: str
    secret_hash: str = field(repr=False)
    created_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False

    def is_usable_at(self, now: datetime) -> bool:
        """Neither revoked nor expired at `now`."""
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


def hash_secret(secret: str) -> str:
    """The stored form of a token secret: hex SHA-256."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def issue_token() -> IssuedToken:
    """A fresh token with a random id and a 256-bit secret."""
    token_id = uuid.uuid4().hex
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return IssuedToken(token_id, f"{TOKEN_PREFIX}_{token_id}_{secret}", hash_secret(secret))


def parse_token(token: str) -> PresentedToken | None:
    """Split a token into id and secret, or None when it is not in the token format."""
    match = _TOKEN_PATTERN.fullmatch(token)
    if match is None:
        return None
    return PresentedToken(match["token_id"], match["secret"])


def bearer_token(authorization: str | None) -> PresentedToken | None:
    """The token of an `Authorization: Bearer <token>` header, or None when absent or malformed."""
    if not authorization:
        return None
    match = _BEARER_PATTERN.fullmatch(authorization)
    return parse_token(match["token"]) if match else None


def secret_matches(presented: PresentedToken, stored: StoredToken) -> bool:
    """Constant-time comparison of the presented secret's hash with the stored hash."""
    return hmac.compare_digest(hash_secret(presented.secret), stored.secret_hash)
