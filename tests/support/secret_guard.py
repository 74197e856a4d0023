"""A pytest plugin guarding the whole test session: no token secret may appear in anything captured.

Every token issued while the tests run is recorded (the plugin wraps `session_ingest.domain.tokens.
issue_token`, the one place tokens are minted; the e2e fixtures add the local stack's demo token).
After each phase of each test, what pytest captured for it (stdout, stderr, log records) and whatever
the watched log files (the local stack's functions) gained since the last look are scanned; a test
whose output holds a secret fails, naming where. A secret counts as leaked when any 24 consecutive
characters of its head or tail appear (a truncated or prefixed `Authorization` value counts too).

Cheap by construction: only runs of token-alphabet characters at least 24 long are examined, each
with one set lookup per position.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from session_ingest.domain import tokens

WINDOW = 24
_TOKEN_ALPHABET_RUN = re.compile(rf"[A-Za-z0-9_-]{{{WINDOW},}}")


@dataclass
class SecretGuard:
    _windows: set[str] = field(default_factory=set)
    _watched: dict[Path, int] = field(default_factory=dict)
    issued: int = 0

    def register(self, token: str) -> None:
        """Remember a token (`sit_<token_id>_<secret>`) or a bare secret."""
        secret = token.split("_", 2)[2] if token.startswith(f"{tokens.TOKEN_PREFIX}_") else token
        if len(secret) >= WINDOW:
            self._windows.update({secret[:WINDOW], secret[-WINDOW:]})
            self.issued += 1

    def watch(self, path: Path) -> None:
        """Scan this file's new lines after each test phase (a log written by another process)."""
        self._watched[path] = 0

    def leak_in(self, text: str) -> str | None:
        """The first leaked window found in `text`, or None."""
        if not self._windows or len(text) < WINDOW:
            return None
        for run in _TOKEN_ALPHABET_RUN.finditer(text):
            value = run.group()
            for start in range(len(value) - WINDOW + 1):
                if value[start : start + WINDOW] in self._windows:
                    return value[start : start + WINDOW]
        return None

    def new_file_text(self) -> Iterable[tuple[str, str]]:
        for path, offset in list(self._watched.items()):
            if not path.exists():
                continue
            with path.open("rb") as stream:
                stream.seek(offset)
                data = stream.read()
            self._watched[path] = offset + len(data)
            yield str(path), data.decode("utf-8", errors="replace")


GUARD = SecretGuard()
_original_issue_token: Callable[[], tokens.IssuedToken] | None = None


def _recording_issue_token() -> tokens.IssuedToken:
    assert _original_issue_token is not None
    issued = _original_issue_token()
    GUARD.register(issued.token)
    return issued


def _install() -> None:
    """Replace `issue_token` in its module and in every module that already imported it."""
    global _original_issue_token
    if _original_issue_token is not None:
        return
    _original_issue_token = tokens.issue_token
    for module in list(sys.modules.values()):
        if getattr(module, "issue_token", None) is _original_issue_token:
            module.issue_token = _recording_issue_token  # type: ignore[attr-defined]


def _uninstall() -> None:
    global _original_issue_token
    if _original_issue_token is None:
        return
    for module in list(sys.modules.values()):
        if getattr(module, "issue_token", None) is _recording_issue_token:
            module.issue_token = _original_issue_token  # type: ignore[attr-defined]
    _original_issue_token = None


def pytest_configure(config: pytest.Config) -> None:
    _install()


def pytest_unconfigure(config: pytest.Config) -> None:
    _uninstall()


def _leaks(report: pytest.TestReport) -> list[str]:
    found: list[str] = []
    for title, text in report.sections:
        if title.endswith(f" {report.when}") and (leak := GUARD.leak_in(text)) is not None:
            found.append(f"{title!r} holds token secret characters {leak[:6]}…")
    for name, text in GUARD.new_file_text():
        if (leak := GUARD.leak_in(text)) is not None:
            found.append(f"{name} holds token secret characters {leak[:6]}…")
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    leaks = _leaks(report)
    if leaks:
        report.outcome = "failed"
        report.longrepr = "A token secret reached captured output (contract §3):\n" + "\n".join(leaks)
