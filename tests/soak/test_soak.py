"""The short soak (CI): a few hundred requests from concurrent clients through `ingestctl local up` while
every fault kind is injected; each test checks one invariant of the run (`benchmarks.soak.verify`).

The full run is `make soak` (thousands of requests); its figures are in docs/RELIABILITY.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.soak.run import DEFAULT_FAULTS, SoakConfig, SoakResult, enabled_faults, run_soak
from benchmarks.soak.verify import render

pytestmark = [pytest.mark.soak, pytest.mark.xdist_group("soak")]

CI_SOAK = SoakConfig(
    requests=200,
    clients=8,
    endpoints=4,
    updates_per_uid=4,
    visibility_timeout=2,
    api_concurrency=4,
    consumer_concurrency=3,
    drain_timeout_seconds=600,  # a wait, not a limit: a loaded CI machine drains many times slower
    seed=7,
    # Fractions high enough that each fault fires in a run this short: faults are spread evenly, so a
    # kind fires once a function environment has made 1/fraction of its calls (send_error: 25 of the ~50
    # sends each of the 4 API environments makes; a coin per call would miss it in ~2% of runs); a kill
    # every 60 commits per worker
    faults=DEFAULT_FAULTS.model_copy(
        update={
            "record_error": 0.04,
            "record_error_after_commit": 0.03,
            "worker_kill_every": 60,
            "send_error": 0.04,
            "max_delay_seconds": 2,
        }
    ),
)


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> SoakResult:
    result = run_soak(CI_SOAK, workdir=Path(tmp_path_factory.mktemp("soak")))
    print("\n" + report(result))  # the figures, with `pytest -s`
    return result


def report(result: SoakResult) -> str:
    """The run's figures block, as the message of any failed assertion."""
    return render(result.verdict, CI_SOAK.parameters()) + f"\n  stack log {result.stack_log}"


def _failures(result: SoakResult, *topics: str) -> list[str]:
    return [failure for failure in result.verdict.failures if any(topic in failure for topic in topics)]


def test_every_fault_kind_was_injected(soak: SoakResult) -> None:
    # Given the short soak's fault plan / Then each kind fired at least once, and the stack replaced
    # every killed worker
    assert set(enabled_faults(CI_SOAK.faults)) <= set(soak.verdict.figures.faults), report(soak)
    assert _failures(soak, "never injected", "environments replaced") == [], report(soak)


def test_nothing_accepted_is_lost(soak: SoakResult) -> None:
    # Then processed + failed + dlq = accepted, each failure and dead letter with its reason
    counted = soak.verdict.figures
    assert counted.lost == 0, report(soak)
    assert counted.accepted == counted.processed + counted.failed + counted.dlq, report(soak)
    topics = ("lost", "without a reason", "without a recorded reason", "did not drain")
    assert _failures(soak, *topics) == [], report(soak)


def test_poison_records_end_in_the_dlq_and_are_never_processed(soak: SoakResult) -> None:
    # Then the DLQ holds the poison records (with their reason) and they were never processed
    assert soak.verdict.figures.dlq_poison >= 1, report(soak)
    assert _failures(soak, "poison") == [], report(soak)


def test_no_duplicate_sessions_or_requests(soak: SoakResult) -> None:
    # Then one session per uid, created once; no key queued twice; nothing queued that no one was told of
    assert soak.verdict.figures.duplicates == 0, report(soak)
    topics = ("more than one session", "created more than once", "queued", "double submits")
    assert _failures(soak, *topics) == [], report(soak)


def test_every_field_holds_the_value_of_the_request_accepted_last(soak: SoakResult) -> None:
    # Then no older request overwrote a newer one's field, though some arrived late
    assert soak.verdict.figures.stale_overwrites == 0, report(soak)
    topics = ("stale field", "applied to another session", "no session", "asked for")
    assert _failures(soak, *topics) == [], report(soak)


def test_no_valid_request_ends_without_a_200(soak: SoakResult) -> None:
    # Then every 5xx/429/409 a client got was retried to a 200, and invalid payloads got their 422
    assert soak.verdict.figures.unretried_5xx == 0, report(soak)
    assert _failures(soak, "never got a 200", "other than 422") == [], report(soak)


def test_the_run_has_no_other_failure_and_the_stack_stops_cleanly(soak: SoakResult) -> None:
    # Then the verdict holds no failure at all, and `local up` exited 0 on SIGTERM
    assert soak.verdict.failures == [], report(soak)
    assert soak.stack_exit_code == 0, report(soak)
