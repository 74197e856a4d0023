"""Token format, hashing and checks (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from session_ingest.domain.tokens import (
    StoredToken,
    bearer_token,
    hash_secret,
    issue_token,
    parse_token,
    secret_matches,
)

NOW = datetime(2026, 6, 14, 12, 0, tzinfo=UTC)


def test_an_issued_token_carries_its_id_and_stores_only_a_hash() -> None:
    # Given a freshly issued token
    issued = issue_token()
    # When it is parsed back
    presented = parse_token(issued.token)
    # Then it names its id, and the stored hash matches its secret but is not the secret
    assert presented is not None
    assert presented.token_id == issued.token_id
    assert issued.token.startswith(f"sit_{issued.token_id}_")
    assert issued.secret_hash == hash_secret(presented.secret)
    assert presented.secret not in issued.secret_hash


def test_issued_tokens_are_unique() -> None:
    # Given many issued tokens
    tokens = {issue_token().token for _ in range(200)}
    # Then none repeats
    assert len(tokens) == 200


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sit_",
        "abc_0123456789abcdef0123456789abcdef_" + "A" * 43,  # wrong prefix
        "sit_0123456789ABCDEF0123456789abcdef_" + "A" * 43,  # upper-case id
        "sit_0123456789abcdef0123456789abcdef_" + "A" * 42,  # short secret
        "sit_0123456789abcdef0123456789abcdef_" + "A" * 44,  # long secret
        "sit_0123456789abcdef0123456789abcdef_" + "A" * 42 + "=",  # outside the alphabet
        "sit_0123456789abcdef0123456789abcdef_" + "A" * 43 + "\n",  # a trailing newline
        "\nsit_0123456789abcdef0123456789abcdef_" + "A" * 43,  # a leading newline
    ],
)
def test_text_outside_the_token_format_is_not_a_token(text: str) -> None:
    # Given text that is not a token
    # Then it does not parse
    assert parse_token(text) is None


@pytest.mark.parametrize(
    ("header", "parses"),
    [
        ("Bearer {token}", True),
        ("bearer {token}", True),
        ("Bearer   {token}  ", True),
        ("Bearer{token}", False),
        ("Token {token}", False),
        ("Bearer {token} extra", False),
        ("{token}", False),
        ("", False),
        ("Bearer {token}\n", False),
        ("Bearer {token}\r\n", False),
        ("Bearer \n{token}", False),
    ],
)
def test_only_a_bearer_header_yields_a_token(header: str, parses: bool) -> None:
    # Given an Authorization header around a valid token
    issued = issue_token()
    # When the token is taken from it
    presented = bearer_token(header.format(token=issued.token))
    # Then only the Bearer scheme yields it
    assert (presented is not None) == parses


def test_a_missing_header_yields_no_token() -> None:
    assert bearer_token(None) is None


def test_the_secret_must_match_the_stored_hash() -> None:
    # Given a stored token
    issued = issue_token()
    stored = StoredToken(issued.token_id, issued.secret_hash, NOW)
    presented = parse_token(issued.token)
    forged = parse_token(issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B"))
    # Then the true secret matches and an altered one does not
    assert presented is not None
    assert forged is not None
    assert secret_matches(presented, stored)
    assert not secret_matches(forged, stored)


@pytest.mark.parametrize(
    ("expires_in", "revoked", "usable"),
    [(None, False, True), (60, False, True), (0, False, False), (-1, False, False), (None, True, False)],
)
def test_a_token_is_usable_until_it_expires_or_is_revoked(
    expires_in: int | None, revoked: bool, usable: bool
) -> None:
    # Given a token with an expiry relative to now, possibly revoked
    expires_at = None if expires_in is None else NOW + timedelta(seconds=expires_in)
    stored = StoredToken("id", "hash", NOW - timedelta(days=1), expires_at, revoked)
    # Then it is usable exactly while neither applies
    assert stored.is_usable_at(NOW) is usable


def test_token_secrets_and_hashes_never_appear_in_reprs() -> None:
    # Given an issued token, the token presented from it and the stored form
    issued = issue_token()
    presented = parse_token(issued.token)
    assert presented is not None
    stored = StoredToken(issued.token_id, issued.secret_hash, NOW)
    # When each is printed (as a log line or a traceback would)
    printed = " ".join(repr(value) for value in (issued, presented, stored))
    # Then the token id shows, the secret and its hash do not
    assert issued.token_id in printed
    assert presented.secret not in printed
    assert issued.secret_hash not in printed
