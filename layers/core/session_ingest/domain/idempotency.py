"""Idempotency-Key rules (contract §7), pure: key validation, body fingerprints, and what a repeat gets.

A key is stored per endpoint as IDEMPOTENCY#<endpoint_id>#<sha256(key)> together with the first
request's id and the SHA-256 of its raw body. The item is written in the same transaction as the
request item, marked `queued` only after SQS accepted the message, and deleted again if the send
failed. A repeat therefore meets one of:
- a queued claim with the same body: the first response is replayed (same request id);
- any claim with a different body: 422 idempotency_conflict;
- an unconfirmed claim with the same body: the first request is still in flight - 409, retry shortly;
- an unconfirmed claim older than IDEMPOTENCY_IN_FLIGHT_SECONDS: the first request stopped somewhere
  between storing and confirming (its Lambda crashed or timed out), possibly *after* its message was
  sent. The repeat finishes that request under its own id instead of queuing the body again under a
  new one, so a crash never blocks a key and never makes one key two requests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from session_ingest import limits
from session_ingest.errors import InvalidIdempotencyKey


def validated_key(key: str) -> str:
    """The key itself when acceptable (1..MAX_IDEMPOTENCY_KEY_CHARS printable characters)."""
    if not key:
        raise InvalidIdempotencyKey("Idempotency-Key must not be empty")
    if len(key) > limits.MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidIdempotencyKey(
            f"Idempotency-Key must be at most {limits.MAX_IDEMPOTENCY_KEY_CHARS} characters"
        )
    if not key.isprintable():
        raise InvalidIdempotencyKey("Idempotency-Key must not contain control characters")
    return key


def sha256_hex(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class IdempotencyClaim:
    """The claim a request makes on its key."""

    endpoint_id: str
    key_sha256: str
    body_sha256: str
    request_id: str


@dataclass(frozen=True)
class StoredClaim:
    """A claim found in the store."""

    request_id: str
    body_sha256: str
    queued: bool
    claimed_at: int = 0  # epoch seconds


class Repeat(StrEnum):
    REPLAY = "replay"
    CONFLICT = "conflict"
    IN_FLIGHT = "in_flight"
    ABANDONED = "abandoned"  # unconfirmed past IDEMPOTENCY_IN_FLIGHT_SECONDS: finish the first request


def judge_repeat(existing: StoredClaim, body_sha256: str, now_epoch: float) -> Repeat:
    """What a request repeating an existing key gets."""
    if existing.body_sha256 != body_sha256:
        return Repeat.CONFLICT
    if existing.queued:
        return Repeat.REPLAY
    if existing.claimed_at < now_epoch - limits.IDEMPOTENCY_IN_FLIGHT_SECONDS:
        return Repeat.ABANDONED
    return Repeat.IN_FLIGHT
