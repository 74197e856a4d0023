"""Schema patterns are accepted only when Python's backtracking engine matches them in linear time."""

from __future__ import annotations

import pytest

from session_ingest import limits
from session_ingest.domain.regex_safety import UnsafePattern, check_linear_pattern

LINEAR_PATTERNS = [
    r"^[A-Z]{2}\d{3}$",
    r"^\d{4}-\d{2}-\d{2}$",
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    r"^[^@\s.]+@[^@\s.]+(?:\.[^@\s.]+)+$",
    r"^\s*\S+\s*$",
    r"^(?:a|b)+$",
    r"^(?:a|ab)*$",  # the parser factors it into a(?:|b): decided by the next character
    r"^https?://[^/\s]+(?:/[^/\s]*)*$",
    r"^.*$",
    r"\A[0-9]+\Z",
    r"(?i)^[a-z]+-[0-9]+$",
    r"^[a-z]++a",  # possessive: never gives back, so no choice to backtrack into
    "abc",
    r"[a-z]{3,5}",
    r"\d{4}-\d{2}",
]


@pytest.mark.parametrize("pattern", LINEAR_PATTERNS)
def test_patterns_decided_by_the_next_character_are_accepted(pattern: str) -> None:
    # Given a pattern whose every choice is decided by the next character / Then it is accepted
    check_linear_pattern(pattern)


UNSAFE_PATTERNS = [
    (r"^(a+)+$", "repetition"),  # exponential
    (r"^(a|a)*$", "alternatives"),  # exponential
    (r"^(a*)*$", "empty string"),
    (r"^(?:[a-z]+\.)*[a-z]+$", "repetition"),
    (r"^a?a?a?a?aaaa$", "repetition"),  # exponential in the number of optional parts
    (r"^\d+\d+x", "repetition"),  # polynomial
    (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "repetition"),  # the last [^@\s]+ can also hold the dot
    (r"(?i)^[a-z]+K$", "repetition"),  # case-insensitive: K is one of [a-z]
    (r"^\w+\d$", "repetition"),
    (r"^(?:foo|f\w+)$", "alternatives"),
    (r"\d+x", "not anchored"),  # tried from every position: quadratic
    (r".*foo", "repetition"),
    (r"(?m)^\d+$", "not anchored"),  # ^ matches after every newline
    ("[a-z]{1,100}", "not anchored"),
    (r"(a)\1", "backreferences"),
    (r"^(?=a)a", "lookahead"),
    (r"^(?!a)b", "lookahead"),
    (r"^(?<=a)b", "lookahead"),
    (r"^(a)?(?(1)b|c)", "conditional"),
    ("(", "not a valid regular expression"),
    ("^" + "a" * limits.MAX_SCHEMA_PATTERN_CHARS, "longer than"),
]


@pytest.mark.parametrize(("pattern", "reason"), UNSAFE_PATTERNS, ids=repr)
def test_patterns_that_could_backtrack_are_refused_saying_why(pattern: str, reason: str) -> None:
    # Given a pattern that could make the engine backtrack (or that is not a regular expression)
    # When it is checked / Then it is refused with the reason
    with pytest.raises(UnsafePattern, match=reason):
        check_linear_pattern(pattern)


def test_non_ascii_characters_are_compared_by_category() -> None:
    # Given repetitions whose neighbours differ only beyond ASCII
    # Then complementary categories are disjoint there too, and a shared letter class is an overlap
    check_linear_pattern(r"^\s*\S+$")
    with pytest.raises(UnsafePattern):
        check_linear_pattern(r"^[é-ü]+\w$")
