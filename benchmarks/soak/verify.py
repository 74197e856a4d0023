"""The soak's invariants, checked on what the run observed (pure: no I/O), and the figures it prints.

Invariants (each violation is listed with examples; any makes the run fail):
- nothing lost: every request the service accepted is processed, failed with a reason, or in the DLQ with
  its reason (processed + failed + dlq = accepted), and every 200 the clients got is among them;
- the clients' view and the service's agree: nothing was queued that its client was not given a 200 for;
- no valid request ended without a 200 (a 5xx/429/409 is fine only because the client retried it to a
  200), no invalid one got anything but its 4xx, and a double submit replayed the same request id;
- no duplicates: one session per organisation uid, created once, every update of the uid on it;
- no stale overwrites: every field holds the value of the processed request accepted last that set it
  (ties: any of the simultaneous ones), with that request's accept time;
- poison records end in the DLQ (never processed), and every fault the plan enables was injected.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from benchmarks.soak.client import Submission
from benchmarks.soak.workload import PlannedRequest

NOT_QUEUED_PREFIX = "not queued"
DEAD_LETTERED_PREFIX = "dead-lettered"
STALE_FIELD_WARNING = "stale_field"
EXAMPLES = 5


@dataclass(frozen=True)
class ServerRequest:
    """A request outcome item as read back from the requests table."""

    request_id: str
    endpoint_id: str
    status: str
    accepted_at: datetime
    processed_at: datetime | None = None
    action: str | None = None
    resource_id: str | None = None
    warning_codes: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def not_queued(self) -> bool:
        """The API answered 5xx and recorded that the message never reached the queue."""
        return self.status == "failed" and any(e.startswith(NOT_QUEUED_PREFIX) for e in self.errors)


@dataclass(frozen=True)
class StoredSessionView:
    event_id: int
    resource_id: str
    fields: dict[str, Any]
    field_accepted_at: dict[str, datetime]

    @property
    def organisation_uid(self) -> str | None:
        value = self.fields.get("organisation_uid")
        return str(value) if value else None


@dataclass(frozen=True)
class DeadLetterView:
    request_id: str | None
    reason: str
    reason_recorded: bool


@dataclass
class Observations:
    """Everything a run saw: the clients' submissions and the service's state once the queue drained."""

    submissions: list[Submission]
    endpoint_ids: dict[int, str]  # endpoint index -> endpoint id
    requests: dict[str, ServerRequest]  # every request item of the soak's endpoints
    claims: dict[tuple[str, str], str]  # (endpoint id, sha256 of the Idempotency-Key) -> request id
    dead_letters: list[DeadLetterView]
    sessions: list[StoredSessionView]
    fault_entries: list[dict[str, Any]]
    enabled_faults: tuple[str, ...]
    queue_drained: bool
    send_seconds: float
    replaced_environments: dict[str, int] = field(default_factory=dict)


@dataclass
class Figures:
    requests_sent: int = 0
    http_attempts: int = 0
    accepted: int = 0
    retried: int = 0
    answers_5xx: int = 0
    answers_429: int = 0
    answers_409: int = 0
    no_answer: int = 0
    rejected_invalid: int = 0
    double_submits: int = 0
    processed: int = 0
    failed: int = 0
    dlq: int = 0
    dlq_poison: int = 0
    lost: int = 0
    duplicate_sessions: int = 0
    duplicate_requests: int = 0
    stale_overwrites: int = 0
    unretried_5xx: int = 0
    uids: int = 0
    sessions: int = 0
    late_arrivals: int = 0
    stale_fields_skipped: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    throttle_exhausted: int = 0
    replaced_environments: dict[str, int] = field(default_factory=dict)
    send_seconds: float = 0.0
    throughput: float = 0.0
    span_seconds: float = 0.0
    latency_p50: float = 0.0
    latency_p99: float = 0.0
    queue_drained: bool = False

    @property
    def duplicates(self) -> int:
        """Extra sessions for a uid, plus requests queued twice for one logical request."""
        return self.duplicate_sessions + self.duplicate_requests


@dataclass
class Verdict:
    figures: Figures
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else 0.0


def plain(value: Any) -> Any:
    """A value read back from DynamoDB in the payload's terms (Decimal -> int/float, recursively)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def _examples(items: Iterable[Any]) -> str:
    listed = list(items)
    shown = ", ".join(str(item) for item in listed[:EXAMPLES])
    return shown + (f" … (+{len(listed) - EXAMPLES})" if len(listed) > EXAMPLES else "")


class _Check:
    """Accumulates figures and failures while the invariants are checked one by one."""

    def __init__(self, observed: Observations, key_hash: Any) -> None:
        self.observed = observed
        self.key_hash = key_hash
        self.figures = Figures()
        self.failures: list[str] = []

    def fail(self, what: str, items: Iterable[Any]) -> None:
        listed = list(items)
        if listed:
            self.failures.append(f"{what}: {len(listed)} ({_examples(listed)})")

    def request_id_of(self, submission: Submission) -> str | None:
        """The service's id for a planned request: from its 200, else from its Idempotency-Key claim."""
        planned = submission.planned
        endpoint_id = self.observed.endpoint_ids[planned.endpoint.index]
        claimed = self.observed.claims.get((endpoint_id, self.key_hash(planned.idempotency_key)))
        return submission.request_id or claimed


def _check_clients(check: _Check) -> None:
    figures, observed = check.figures, check.observed
    statuses = [status for s in observed.submissions for status in s.statuses]
    figures.requests_sent = len(observed.submissions)
    figures.http_attempts = len(statuses)
    figures.retried = sum(1 for s in observed.submissions if s.retries)
    figures.answers_5xx = sum(1 for status in statuses if status is not None and status >= 500)
    figures.answers_429 = statuses.count(429)
    figures.answers_409 = statuses.count(409)
    figures.no_answer = statuses.count(None)
    valid = [s for s in observed.submissions if s.planned.valid]
    invalid = [s for s in observed.submissions if not s.planned.valid]
    figures.accepted = sum(1 for s in valid if s.accepted)
    figures.rejected_invalid = sum(1 for s in invalid if s.final_status == 422)
    unanswered = [s for s in valid if not s.accepted]
    figures.unretried_5xx = sum(1 for s in unanswered if s.final_status is None or s.final_status >= 500)
    check.fail(
        "valid requests that never got a 200 (last status)",
        (f"#{s.planned.number}: {s.statuses}" for s in unanswered),
    )
    check.fail(
        "invalid requests answered other than 422",
        (f"#{s.planned.number}: {s.statuses}" for s in invalid if s.final_status != 422),
    )
    replays = [s for s in valid if s.planned.resubmit and s.accepted]
    figures.double_submits = len(replays)
    mismatched = [s for s in replays if s.replay_request_id != s.request_id]
    figures.duplicate_requests += sum(1 for s in mismatched if (s.replay_request_id or "").count("-") == 4)
    check.fail(
        "double submits not answered with the first request id",
        (f"#{s.planned.number}: {s.request_id} then {s.replay_request_id}" for s in mismatched),
    )


def _check_accounting(check: _Check, ids: dict[int, str | None]) -> set[str]:
    """Every accepted request is processed, failed with a reason, or dead-lettered with one: the ids
    of the processed requests."""
    figures, observed = check.figures, check.observed
    requests = observed.requests
    accepted = {rid for rid, request in requests.items() if not request.not_queued}
    told_accepted = {s.request_id for s in observed.submissions if s.accepted and s.request_id}
    dead = {letter.request_id for letter in observed.dead_letters if letter.request_id}
    check.fail("200s with no request item (lost at accept)", told_accepted - set(requests))
    check.fail(
        "200s whose request is marked not queued", {r for r in told_accepted if r in requests} - accepted
    )
    known = {rid for rid in ids.values() if rid}
    unanswered = accepted - told_accepted - known
    queued_after_failure = [
        s for s in observed.submissions if not s.accepted and ids[s.planned.number] in accepted
    ]
    figures.duplicate_requests += len(unanswered)
    check.fail("requests queued that no client was given a 200 for", unanswered)
    check.fail(
        "requests queued although their client's last answer was not a 200",
        (f"#{s.planned.number} {ids[s.planned.number]}: {s.statuses}" for s in queued_after_failure),
    )
    processed = {rid for rid in accepted if requests[rid].status == "processed"}
    in_dlq = (accepted - processed) & dead
    failed = {rid for rid in accepted - processed - in_dlq if requests[rid].status == "failed"}
    lost = accepted - processed - in_dlq - failed
    figures.processed, figures.dlq, figures.failed, figures.lost = (
        len(processed),
        len(in_dlq),
        len(failed),
        len(lost),
    )
    check.fail("lost (accepted, neither processed, failed nor dead-lettered)", sorted(lost))
    check.fail("failed without a reason", sorted(rid for rid in failed if not requests[rid].errors))
    check.fail(
        "dead letters without a recorded reason",
        (letter.request_id for letter in observed.dead_letters if not letter.reason_recorded),
    )
    poison_ids = {ids[s.planned.number] for s in observed.submissions if s.planned.poison}
    figures.dlq_poison = len(in_dlq & poison_ids)
    check.fail("poison records processed", sorted(processed & poison_ids))
    check.fail("poison records not in the DLQ", sorted(poison_ids - in_dlq - {None}))
    if not observed.queue_drained:
        check.failures.append("the ingest queue did not drain before the timeout")
    return processed


def _check_sessions(check: _Check, ids: dict[int, str | None], processed: set[str]) -> None:
    figures, observed = check.figures, check.observed
    by_uid: dict[tuple[int, str], list[StoredSessionView]] = defaultdict(list)
    for session in observed.sessions:
        by_uid[(session.event_id, session.organisation_uid or "")].append(session)
    planned_by_uid: dict[tuple[int, str], list[tuple[PlannedRequest, str]]] = defaultdict(list)
    for s in observed.submissions:
        rid = ids[s.planned.number]
        if rid in processed:
            planned_by_uid[(s.planned.endpoint.event_id, s.planned.organisation_uid)].append((s.planned, rid))
    figures.uids, figures.sessions = len(planned_by_uid), len(observed.sessions)
    duplicated = {uid: sessions for uid, sessions in by_uid.items() if len(sessions) > 1}
    figures.duplicate_sessions = sum(len(sessions) - 1 for sessions in duplicated.values())
    check.fail("organisation uids on more than one session", sorted(uid for _, uid in duplicated))
    check.fail(
        "sessions no processed request asked for", sorted(uid for e, uid in set(by_uid) - set(planned_by_uid))
    )
    check.fail(
        "uids with processed requests but no session",
        sorted(uid for e, uid in set(planned_by_uid) - set(by_uid)),
    )
    creates = Counter(
        (e, uid)
        for (e, uid), pairs in planned_by_uid.items()
        for _, rid in pairs
        if observed.requests[rid].action == "created"
    )
    check.fail("uids created more than once", sorted(uid for (e, uid), n in creates.items() if n > 1))
    for key, pairs in sorted(planned_by_uid.items()):
        sessions = by_uid.get(key, [])
        if len(sessions) == 1:
            _check_fields(check, key[1], sessions[0], pairs)
            _count_late_arrivals(check, pairs)


def _check_fields(
    check: _Check, uid: str, session: StoredSessionView, pairs: list[tuple[PlannedRequest, str]]
) -> None:
    requests = check.observed.requests
    wrong_session = [rid for _, rid in pairs if requests[rid].resource_id != session.resource_id]
    check.fail(f"requests of {uid} applied to another session", wrong_session)
    writers: dict[str, list[tuple[datetime, Any]]] = defaultdict(list)
    for planned, rid in pairs:
        for name, value in planned.fields.items():
            writers[name].append((requests[rid].accepted_at, value))
    for name, candidates in sorted(writers.items()):
        newest = max(moment for moment, _ in candidates)
        expected = [value for moment, value in candidates if moment == newest]
        stored = plain(session.fields.get(name))
        if stored not in expected or session.field_accepted_at.get(name) != newest:
            check.figures.stale_overwrites += 1
            check.failures.append(
                f"stale field: {uid}.{name} = {stored!r} (set at {session.field_accepted_at.get(name)}), "
                f"newest request (accepted {newest.isoformat()}) set {expected[0]!r}"
            )


def _count_late_arrivals(check: _Check, pairs: list[tuple[PlannedRequest, str]]) -> None:
    """Requests processed after a request of the same uid that was accepted later (shuffled arrival)."""
    requests = check.observed.requests
    timed = [requests[rid] for _, rid in pairs if requests[rid].processed_at is not None]
    for request in timed:
        assert request.processed_at is not None
        if any(
            other.accepted_at > request.accepted_at
            and other.processed_at is not None
            and other.processed_at < request.processed_at
            for other in timed
        ):
            check.figures.late_arrivals += 1
        check.figures.stale_fields_skipped += request.warning_codes.count(STALE_FIELD_WARNING)


def _check_faults(check: _Check) -> None:
    figures, observed = check.figures, check.observed
    kinds = Counter(str(entry.get("kind")) for entry in observed.fault_entries)
    figures.faults = dict(sorted(kinds.items()))
    figures.throttle_exhausted = sum(
        1 for entry in observed.fault_entries if entry.get("kind") == "throttle" and entry.get("exhausted")
    )
    figures.replaced_environments = dict(observed.replaced_environments)
    check.fail(
        "faults enabled but never injected (the run proves nothing about them)",
        [kind for kind in observed.enabled_faults if not kinds.get(kind)],
    )
    kills = kinds.get("worker_kill", 0)
    replaced = sum(observed.replaced_environments.values())
    if kills and replaced < kills:
        check.failures.append(f"{kills} workers killed but only {replaced} environments replaced")


def _timing(check: _Check, processed: set[str]) -> None:
    figures, requests = check.figures, check.observed.requests
    done = [requests[rid] for rid in processed if requests[rid].processed_at is not None]
    latencies = [(r.processed_at - r.accepted_at).total_seconds() for r in done if r.processed_at]
    figures.send_seconds = check.observed.send_seconds
    figures.queue_drained = check.observed.queue_drained
    if done:
        first = min(r.accepted_at for r in done)
        last = max(r.processed_at for r in done if r.processed_at)
        figures.span_seconds = (last - first).total_seconds()
        figures.throughput = len(done) / figures.span_seconds if figures.span_seconds > 0 else 0.0
        figures.latency_p50 = statistics.median(latencies)
        figures.latency_p99 = percentile(latencies, 0.99)


def verify(observed: Observations, key_hash: Any) -> Verdict:
    """Check every invariant; `key_hash` maps an Idempotency-Key to the hash its claim is stored under."""
    check = _Check(observed, key_hash)
    ids = {s.planned.number: check.request_id_of(s) for s in observed.submissions}
    _check_clients(check)
    processed = _check_accounting(check, ids)
    _check_sessions(check, ids, processed)
    _check_faults(check)
    _timing(check, processed)
    return Verdict(check.figures, check.failures)


def render(verdict: Verdict, parameters: Mapping[str, Any]) -> str:
    """The figures block."""
    f = verdict.figures
    faults = ", ".join(f"{kind} {count}" for kind, count in f.faults.items()) or "none"
    lines = [
        "soak figures",
        "  parameters:      " + ", ".join(f"{key}={value}" for key, value in parameters.items()),
        f"  requests sent:   {f.requests_sent} ({f.http_attempts} HTTP attempts in {f.send_seconds:.1f} s); "
        f"invalid ones rejected 422: {f.rejected_invalid}; double submits replayed: {f.double_submits}",
        f"  accepted (200):  {f.accepted}; retried {f.retried} "
        f"(answers 5xx {f.answers_5xx}, 429 {f.answers_429}, 409 {f.answers_409}, no answer {f.no_answer})",
        f"  faults injected: {faults}; throttled calls past botocore's retries {f.throttle_exhausted}; "
        f"environments replaced {f.replaced_environments or 'none'}",
        f"  outcomes:        processed {f.processed} + failed {f.failed} + dlq {f.dlq} "
        f"(poison {f.dlq_poison}) "
        f"= {f.processed + f.failed + f.dlq} of accepted {f.processed + f.failed + f.dlq + f.lost}",
        f"  lost = {f.lost}, duplicates = {f.duplicates} (sessions {f.duplicate_sessions}, requests "
        f"{f.duplicate_requests}), stale overwrites = {f.stale_overwrites}, "
        f"5xx for valid requests not retried to a 200 = {f.unretried_5xx}",
        f"  sessions:        {f.sessions} for {f.uids} uids; requests processed after a newer one of "
        f"their uid {f.late_arrivals}; stale fields skipped {f.stale_fields_skipped}",
        f"  throughput:      {f.throughput:.1f} records/s accepted-to-processed over {f.span_seconds:.1f} s; "
        f"latency p50 {f.latency_p50:.2f} s, p99 {f.latency_p99:.2f} s; queue drained {f.queue_drained}",
        f"  verdict:         {'OK' if verdict.ok else 'FAILED'}",
    ]
    lines += [f"  ! {failure}" for failure in verdict.failures[:50]]
    return "\n".join(lines)
