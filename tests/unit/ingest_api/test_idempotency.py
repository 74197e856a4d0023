"""Idempotency-Key rules (pure)."""

from __future__ import annotations

import pytest

from session_ingest import limits
from session_ingest.domain.idempotency import Repeat, StoredClaim, judge_repeat, sha256_hex, validated_key
from session_ingest.errors import InvalidIdempotencyKey


@pytest.mark.parametrize("key", ["a", "order-123", "k" * limits.MAX_IDEMPOTENCY_KEY_CHARS, "ключ 1"])
def test_acceptable_keys_are_kept_as_given(key: str) -> None:
    assert validated_key(key) == key


@pytest.mark.parametrize("key", ["", "k" * (limits.MAX_IDEMPOTENCY_KEY_CHARS + 1), "a\nb", "a\x00b"])
def test_unacceptable_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        validated_key(key)


NOW = 1_800_000_000
FRESH = NOW - limits.IDEMPOTENCY_IN_FLIGHT_SECONDS
ABANDONED_AT = NOW - limits.IDEMPOTENCY_IN_FLIGHT_SECONDS - 1


@pytest.mark.parametrize(
    ("queued", "claimed_at", "same_body", "verdict"),
    [
        (True, FRESH, True, Repeat.REPLAY),
        (True, ABANDONED_AT, True, Repeat.REPLAY),
        (True, FRESH, False, Repeat.CONFLICT),
        (False, FRESH, True, Repeat.IN_FLIGHT),
        (False, ABANDONED_AT, True, Repeat.ABANDONED),
        (False, FRESH, False, Repeat.CONFLICT),
        (False, ABANDONED_AT, False, Repeat.CONFLICT),
    ],
)
def test_a_repeat_is_judged_by_body_state_and_age(
    queued: bool, claimed_at: int, same_body: bool, verdict: Repeat
) -> None:
    # Given a stored claim, and a repeat with the same or another body
    stored = StoredClaim("r-1", sha256_hex(b"body"), queued, claimed_at)
    body = b"body" if same_body else b"other"
    # Then the verdict follows contract §7 (an unconfirmed claim past the in-flight period is abandoned)
    assert judge_repeat(stored, sha256_hex(body), NOW) is verdict
