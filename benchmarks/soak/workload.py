"""What the soak's integrators send: per endpoint, organisation uids each updated several times.

Pure (no I/O): a seeded plan of requests. Each request carries its uid and a random part of the other
fields (partial updates), with values unique to the request, so the stored session tells which request
each field came from. A uid's requests are interleaved with a few other uids' and posted by concurrent
clients, so their creates race and their accept order is decided by the API, not by the plan: the
truth is read back from the request outcomes' `accepted_at`.

Values are already in normal form (contract §5), so the expected stored value is the payload value itself
and the check does not depend on the service's own normalisation code.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

POISON_MARKER = "soak-poison"
# Not a time: the API answers 422 at once; a client must not retry it.
INVALID_START_TIME = "not-a-time"

FieldValue = Callable[[str, int], Any]

# Descriptive fields a request may set, with a value unique to (uid, request number) in normal form.
FIELD_VALUES: dict[str, FieldValue] = {
    "name": lambda uid, n: f"Session {uid} rev {n}",
    "description": lambda uid, n: f"Revision {n} of {uid}.",
    "code": lambda uid, n: f"C{n}",
    "skill_level": lambda uid, n: f"L{n}",
    "sort_order": lambda uid, n: n,
    "entry_buffer": lambda uid, n: n % 10_000,
    "categories": lambda uid, n: sorted({n % 97 + 1, n % 89 + 200}),
    "card_link_label": lambda uid, n: f"Label {n}",
    "start_time": lambda uid, n: f"2026-06-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
}
MAX_FIELDS_PER_UPDATE = 4


@dataclass(frozen=True)
class Endpoint:
    """One ingest endpoint of the soak: its own organisation and event."""

    index: int
    organisation: str
    event_id: int


@dataclass(frozen=True)
class PlannedRequest:
    """One logical request: the body, its Idempotency-Key, and what it should do."""

    number: int
    endpoint: Endpoint
    organisation_uid: str
    payload: dict[str, Any]
    idempotency_key: str
    valid: bool = True
    poison: bool = False
    resubmit: bool = False  # sent again after its 200: the replay must return the same request id

    @property
    def fields(self) -> dict[str, Any]:
        """The fields this request sets, as they should be stored."""
        record: dict[str, Any] = self.payload["session"]
        return dict(record)


@dataclass(frozen=True)
class WorkloadShape:
    requests: int
    endpoints: int
    updates_per_uid: int
    invalid_fraction: float = 0.02
    poison_fraction: float = 0.01
    resubmit_fraction: float = 0.03
    interleave: int = 8  # uids whose requests are mixed together (posted concurrently)
    seed: int = 0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])


def soak_endpoints(count: int, run_id: str) -> list[Endpoint]:
    return [Endpoint(index, f"soak-{run_id}-{index}", 9000 + index) for index in range(count)]


def _payload(uid: str, number: int, names: list[str]) -> dict[str, Any]:
    session = {"organisation_uid": uid} | {name: FIELD_VALUES[name](uid, number) for name in names}
    return {"session": session}


def _uid_requests(
    shape: WorkloadShape,
    rng: random.Random,
    endpoint: Endpoint,
    uid: str,
    numbers: Iterator[int],
    poison: bool,
) -> list[PlannedRequest]:
    """A uid's requests: the first sets a name, each later one a random part of the fields."""
    if poison:
        uid = f"{uid}-{POISON_MARKER}"
    requests = []
    for index in range(shape.updates_per_uid):
        number = next(numbers)
        names = rng.sample(sorted(FIELD_VALUES), rng.randint(1, MAX_FIELDS_PER_UPDATE))
        if index == 0 and "name" not in names:
            names.append("name")
        payload = _payload(uid, number, names)
        valid = poison or rng.random() >= shape.invalid_fraction
        if not valid:
            payload["session"]["start_time"] = INVALID_START_TIME
        requests.append(
            PlannedRequest(
                number=number,
                endpoint=endpoint,
                organisation_uid=uid,
                payload=payload,
                idempotency_key=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                valid=valid,
                poison=poison,
                resubmit=valid and rng.random() < shape.resubmit_fraction,
            )
        )
    return requests


def poison_uid_count(uid_count: int, fraction: float) -> int:
    """At least one poison uid whenever the fraction is not zero: the DLQ path is always exercised."""
    return min(uid_count, max(1, round(uid_count * fraction))) if fraction > 0 else 0


def plan_workload(shape: WorkloadShape) -> tuple[list[Endpoint], list[PlannedRequest]]:
    """The endpoints and the requests, in the order the clients take them."""
    rng = random.Random(shape.seed)
    endpoints = soak_endpoints(shape.endpoints, shape.run_id)
    numbers = itertools.count(1)
    uid_count = max(1, shape.requests // shape.updates_per_uid)
    poisoned = set(rng.sample(range(uid_count), poison_uid_count(uid_count, shape.poison_fraction)))
    groups = [
        _uid_requests(
            shape, rng, endpoints[i % len(endpoints)], f"{shape.run_id}-u{i}", numbers, i in poisoned
        )
        for i in range(uid_count)
    ]
    rng.shuffle(groups)
    ordered: list[PlannedRequest] = []
    for start in range(0, len(groups), shape.interleave):
        mixed = [request for group in groups[start : start + shape.interleave] for request in group]
        rng.shuffle(mixed)
        ordered.extend(mixed)
    return endpoints, ordered
