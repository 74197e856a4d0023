"""The session-wide token guard (tests/support/secret_guard.py) catches leaks, and only leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_ingest.domain.tokens import issue_token
from tests.support.secret_guard import GUARD, SecretGuard

REPOSITORY = Path(__file__).resolve().parents[2]


def test_every_token_issued_in_the_session_is_recorded() -> None:
    # Given the count of tokens the guard knows
    before = GUARD.issued
    # When a token is issued the ordinary way
    token = issue_token().token
    # Then the guard knows it, and finds it anywhere in text
    assert GUARD.issued == before + 1
    assert GUARD.leak_in(f"Authorization: Bearer {token}") is not None


@pytest.mark.parametrize(
    ("shape", "leaked"),
    [
        ("the whole token", lambda token, secret: f'{{"auth": "Bearer {token}"}}'),
        ("the secret alone", lambda token, secret: f"secret={secret}"),
        ("the first half and more", lambda token, secret: f"head {secret[:26]} cut"),
        ("the last half and more", lambda token, secret: f"...{secret[-26:]}"),
    ],
)
def test_a_leak_is_found_whole_or_in_part(shape: str, leaked: object) -> None:
    # Given a guard that knows one token
    guard = SecretGuard()
    issued = issue_token()
    guard.register(issued.token)
    secret = issued.token.split("_", 2)[2]
    # When text holds it (whole, bare, or a long part of it)
    text = leaked(issued.token, secret)  # type: ignore[operator]
    # Then the guard finds it
    assert guard.leak_in(text) is not None, shape


def test_text_without_the_secret_is_clean() -> None:
    # Given a guard that knows one token, and text with its id, hash and other random ids
    guard = SecretGuard()
    issued = issue_token()
    guard.register(issued.token)
    text = f"token_id={issued.token_id} hash={issued.secret_hash} other={issue_token().token}"
    # Then nothing is reported
    assert guard.leak_in(text) is None


def test_a_test_that_logs_an_issued_token_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a test that logs a token it issued, and one that keeps it to itself
    pytester.makepyfile(
        """
        import logging
        from session_ingest.domain.tokens import issue_token

        def test_leaks():
            logging.getLogger("integration").warning("calling with Bearer %s", issue_token().token)

        def test_keeps_it():
            token = issue_token().token
            logging.getLogger("integration").warning("calling with token id %s", token.split("_")[1])
        """
    )
    # When they run under the guard, in a process of their own (this session's guard must not see
    # their tokens: its job here is to let the leak through to the inner run's report)
    monkeypatch.setenv("PYTHONPATH", str(REPOSITORY))
    result = pytester.runpytest_subprocess("-p", "tests.support.secret_guard", "-p", "no:cacheprovider")
    # Then only the leaking test fails, saying why
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*A token secret reached captured output*", "*FAILED*test_leaks*"])
