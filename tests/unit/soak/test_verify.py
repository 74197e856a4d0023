"""The soak's invariant checks (pure): a clean run passes, and each kind of violation is caught."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from benchmarks.soak.client import Submission
from benchmarks.soak.verify import (
    DeadLetterView,
    Observations,
    ServerRequest,
    StoredSessionView,
    render,
    verify,
)
from benchmarks.soak.workload import Endpoint, PlannedRequest

T0 = datetime(2026, 6, 14, 23, 0, tzinfo=UTC)
ENDPOINT = Endpoint(0, "soak-x-0", 9000)
ENDPOINT_ID = "e-0"


def _key_hash(key: str) -> str:
    return f"h({key})"


def _planned(number: int, uid: str, fields: dict[str, Any], **flags: Any) -> PlannedRequest:
    return PlannedRequest(
        number=number,
        endpoint=ENDPOINT,
        organisation_uid=uid,
        payload={"session": {"organisation_uid": uid, **fields}},
        idempotency_key=f"k{number}",
        **flags,
    )


def _accepted(planned: PlannedRequest, request_id: str) -> Submission:
    return Submission(planned, statuses=[200], request_id=request_id)


def _processed(
    request_id: str, seconds: int, action: str = "updated", resource: str = "x/session/1"
) -> ServerRequest:
    return ServerRequest(
        request_id=request_id,
        endpoint_id=ENDPOINT_ID,
        status="processed",
        accepted_at=T0 + timedelta(seconds=seconds),
        processed_at=T0 + timedelta(seconds=seconds + 5),
        action=action,
        resource_id=resource,
    )


def clean_run() -> Observations:
    """One uid, created by r1 (name, sort_order) and updated by r2 (name): the session holds r2's name."""
    first = _planned(1, "u1", {"name": "one", "sort_order": 1})
    second = _planned(2, "u1", {"name": "two"})
    return Observations(
        submissions=[_accepted(first, "r1"), _accepted(second, "r2")],
        endpoint_ids={0: ENDPOINT_ID},
        requests={"r1": _processed("r1", 0, action="created"), "r2": _processed("r2", 1)},
        claims={(ENDPOINT_ID, "h(k1)"): "r1", (ENDPOINT_ID, "h(k2)"): "r2"},
        dead_letters=[],
        sessions=[
            StoredSessionView(
                event_id=ENDPOINT.event_id,
                resource_id="x/session/1",
                fields={"organisation_uid": "u1", "name": "two", "sort_order": Decimal(1)},
                field_accepted_at={
                    "organisation_uid": T0 + timedelta(seconds=1),
                    "name": T0 + timedelta(seconds=1),
                    "sort_order": T0,
                },
            )
        ],
        fault_entries=[{"kind": "throttle", "exhausted": True}],
        enabled_faults=("throttle",),
        queue_drained=True,
        send_seconds=1.0,
    )


def test_a_clean_run_passes_with_its_figures() -> None:
    # Given a run where everything was processed once, newest values stored / When verified
    verdict = verify(clean_run(), _key_hash)
    # Then there is no failure, and the figures add up
    assert verdict.failures == []
    figures = verdict.figures
    assert (figures.accepted, figures.processed, figures.lost, figures.duplicates) == (2, 2, 0, 0)
    assert (figures.uids, figures.sessions, figures.throttle_exhausted) == (1, 1, 1)
    assert "verdict:         OK" in render(verdict, {"requests": 2})


def _lost(run: Observations) -> None:
    run.requests["r2"] = dataclasses.replace(run.requests["r2"], status="queued", processed_at=None)


def _duplicate_session(run: Observations) -> None:
    run.sessions.append(dataclasses.replace(run.sessions[0], resource_id="x/session/2"))


def _stale_overwrite(run: Observations) -> None:
    run.sessions[0].fields["name"] = "one"


def _unretried_5xx(run: Observations) -> None:
    submission = run.submissions[1]
    run.submissions[1] = Submission(submission.planned, statuses=[503])


def _replay_with_new_id(run: Observations) -> None:
    submission = run.submissions[0]
    planned = dataclasses.replace(submission.planned, resubmit=True)
    run.submissions[0] = Submission(
        planned, statuses=[200], request_id="r1", replay_request_id="00000000-0000-4000-8000-000000000009"
    )


def _queued_without_a_200(run: Observations) -> None:
    run.requests["r9"] = _processed("r9", 2)


def _poison_processed(run: Observations) -> None:
    submission = run.submissions[1]
    run.submissions[1] = _accepted(dataclasses.replace(submission.planned, poison=True), "r2")


def _dead_letter_without_reason(run: Observations) -> None:
    run.requests["r2"] = dataclasses.replace(run.requests["r2"], status="failed", processed_at=None)
    run.dead_letters.append(DeadLetterView("r2", "no failure reason was recorded", reason_recorded=False))


def _fault_never_injected(run: Observations) -> None:
    run.enabled_faults = ("throttle", "worker_kill")


def _created_twice(run: Observations) -> None:
    run.requests["r2"] = dataclasses.replace(run.requests["r2"], action="created")


def _queue_not_drained(run: Observations) -> None:
    run.queue_drained = False


@pytest.mark.parametrize(
    ("violation", "reported"),
    [
        (_lost, "lost (accepted, neither processed"),
        (_duplicate_session, "more than one session"),
        (_stale_overwrite, "stale field: u1.name"),
        (_unretried_5xx, "never got a 200"),
        (_replay_with_new_id, "double submits not answered with the first request id"),
        (_queued_without_a_200, "queued that no client was given a 200 for"),
        (_poison_processed, "poison records processed"),
        (_dead_letter_without_reason, "dead letters without a recorded reason"),
        (_fault_never_injected, "never injected"),
        (_created_twice, "created more than once"),
        (_queue_not_drained, "did not drain"),
    ],
)
def test_each_violation_is_reported(violation: Callable[[Observations], None], reported: str) -> None:
    # Given a clean run with one violation / When verified
    run = clean_run()
    violation(run)
    verdict = verify(run, _key_hash)
    # Then the verdict fails and names it
    assert not verdict.ok
    assert any(reported in failure for failure in verdict.failures), verdict.failures


def test_a_dead_lettered_request_with_its_reason_is_accounted_for() -> None:
    # Given a poison request that ended in the DLQ with its reason
    run = clean_run()
    submission = run.submissions[1]
    run.submissions[1] = _accepted(dataclasses.replace(submission.planned, poison=True), "r2")
    run.requests["r2"] = dataclasses.replace(
        run.requests["r2"], status="failed", processed_at=None, errors=("dead-lettered: poison",)
    )
    run.dead_letters.append(DeadLetterView("r2", "unexpected InjectedFault: poison", reason_recorded=True))
    run.sessions[0].fields["name"] = "one"
    run.sessions[0].field_accepted_at.update(name=T0, organisation_uid=T0)
    # When verified / Then it counts as dlq, not lost, and the session holds the processed request's value
    verdict = verify(run, _key_hash)
    assert verdict.failures == []
    assert (verdict.figures.processed, verdict.figures.dlq, verdict.figures.dlq_poison) == (1, 1, 1)


def test_a_request_known_only_by_its_key_claim_is_attributed_to_its_client() -> None:
    # Given a client whose last answer was a 502 although its request was queued and processed
    run = clean_run()
    run.submissions[1] = Submission(run.submissions[1].planned, statuses=[502])
    # When verified / Then the claim names the request, and the mismatch is reported
    verdict = verify(run, _key_hash)
    assert any("last answer was not a 200" in failure for failure in verdict.failures)
    assert not any("stale field" in failure for failure in verdict.failures)
