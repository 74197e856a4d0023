"""Fixed windows and what one instance knows of a window's count (pure)."""

from __future__ import annotations

import pytest

from session_ingest.domain.rate_limit import KnownCounts, RateLimitState, RateWindow


@pytest.mark.parametrize(
    ("now", "start", "reset"),
    [
        (999_980.0, 999_960, 40),
        (999_960.0, 999_960, 60),
        (999_979.2, 999_960, 41),
        (1_000_019.9999, 999_960, 1),
    ],
)
def test_windows_are_aligned_to_the_minute_and_reset_in_whole_seconds(
    now: float, start: int, reset: int
) -> None:
    # Given a time
    window = RateWindow.containing("e", 10, now)
    # Then its window starts on a multiple of 60 s and the reset is rounded up
    assert window.start == start
    assert window.reset_seconds(now) == reset


def test_the_state_reports_what_is_left() -> None:
    window = RateWindow.containing("e", 10, 30.0)
    assert window.state(4, 30.0) == RateLimitState(limit=10, remaining=6, reset_seconds=30)
    assert window.state(12, 30.0).remaining == 0


def test_known_counts_grow_with_observations_and_own_requests() -> None:
    # Given an instance that saw the store report 3, then accepted two requests itself
    known = KnownCounts()
    window = RateWindow.containing("e", 5, 0.0)
    known.observe(window, 3)
    known.add_accepted(window)
    known.add_accepted(window)
    # Then it knows of at least 5, which fills the window
    assert known.known(window) == 5
    assert known.is_exhausted(window)


def test_an_older_observation_never_lowers_the_count() -> None:
    known = KnownCounts()
    window = RateWindow.containing("e", 5, 0.0)
    known.observe(window, 4)
    known.observe(window, 2)
    assert known.known(window) == 4


def test_a_new_window_starts_from_zero_and_a_late_answer_about_the_old_one_is_ignored() -> None:
    # Given counts in one window
    known = KnownCounts()
    old = RateWindow.containing("e", 5, 0.0)
    new = RateWindow.containing("e", 5, 60.0)
    known.observe(old, 5)
    # When the next window begins, and a slow request then reports on the old one
    known.add_accepted(new)
    known.observe(old, 5)
    # Then the new window's count stands
    assert known.known(new) == 1
    assert not known.is_exhausted(new)


def test_endpoints_are_counted_apart() -> None:
    known = KnownCounts()
    known.observe(RateWindow.containing("a", 1, 0.0), 1)
    assert known.known(RateWindow.containing("b", 1, 0.0)) == 0
