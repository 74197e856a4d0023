"""The soak's workload plan and its client's retry rule (pure)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from benchmarks.soak.client import Answer, retryable
from benchmarks.soak.workload import (
    INVALID_START_TIME,
    POISON_MARKER,
    WorkloadShape,
    plan_workload,
    poison_uid_count,
)

SHAPE = WorkloadShape(requests=400, endpoints=4, updates_per_uid=4, seed=3, run_id="t")


def test_every_uid_gets_its_updates_spread_over_the_endpoints() -> None:
    # Given a shape / When planned
    endpoints, planned = plan_workload(SHAPE)
    # Then each uid has the planned number of requests, all for one endpoint, every endpoint used
    per_uid = Counter(request.organisation_uid for request in planned)
    assert len(planned) == 400
    assert set(per_uid.values()) == {4}
    assert {request.endpoint for request in planned} == set(endpoints)
    assert all(len({r.endpoint for r in planned if r.organisation_uid == uid}) == 1 for uid in per_uid)


def test_each_request_has_its_own_key_and_values_unique_to_it() -> None:
    # Given the plan / Then keys are unique, and two requests never set a text field to the same value
    _, planned = plan_workload(SHAPE)
    assert len({request.idempotency_key for request in planned}) == len(planned)
    names = [request.fields["name"] for request in planned if "name" in request.fields]
    assert len(names) == len(set(names))


def test_the_plan_is_reproducible_from_its_seed() -> None:
    # Given the same shape twice / Then the same plan
    assert plan_workload(SHAPE) == plan_workload(SHAPE)


def test_poison_uids_are_marked_and_never_invalid() -> None:
    # Given the plan / Then poison requests carry the marker in their uid, and are all valid payloads
    _, planned = plan_workload(SHAPE)
    poison = [request for request in planned if request.poison]
    assert poison
    assert all(POISON_MARKER in request.organisation_uid and request.valid for request in poison)


def test_invalid_requests_carry_a_value_the_api_refuses() -> None:
    # Given a plan with invalid requests / Then each has the refused start time, and none is resubmitted
    _, planned = plan_workload(
        WorkloadShape(requests=400, endpoints=2, updates_per_uid=4, invalid_fraction=0.2)
    )
    invalid = [request for request in planned if not request.valid]
    assert invalid
    assert all(r.payload["session"]["start_time"] == INVALID_START_TIME and not r.resubmit for r in invalid)


@pytest.mark.parametrize(
    ("uids", "fraction", "expected"), [(100, 0.01, 1), (10, 0.01, 1), (500, 0.01, 5), (50, 0, 0)]
)
def test_a_run_with_poison_has_at_least_one_poison_uid(uids: int, fraction: float, expected: int) -> None:
    assert poison_uid_count(uids, fraction) == expected


@pytest.mark.parametrize(
    ("status", "body", "retried"),
    [
        (None, None, True),  # no answer
        (500, {"error_type": "internal_error"}, True),
        (502, None, True),
        (503, {"error_type": "service_unavailable"}, True),
        (429, {"error_type": "rate_limited"}, True),
        (409, {"error_type": "idempotency_in_progress"}, True),
        (200, {"success": True}, False),
        (400, {"error_type": "malformed_json"}, False),
        (401, {"error_type": "authentication_error"}, False),
        (409, {"error_type": "something_else"}, False),
        (422, {"error_type": "validation_error"}, False),
    ],
)
def test_the_client_retries_what_the_api_says_to_retry(status: int | None, body: Any, retried: bool) -> None:
    assert retryable(Answer(status, body, None)) is retried
