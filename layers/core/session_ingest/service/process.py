"""Use case: process one queued ingest message (contract §6) — match, merge, upsert, record the outcome.

Guarantees and how they are kept:
- at-least-once delivery: the request outcome moves `queued -> processed` in the same transaction as
  the session write, conditionally; a redelivery finds it final and changes nothing;
- racing creates of one organisation uid: the create transaction also puts the uid claim
  (`attribute_not_exists`); the loser is cancelled, re-runs matching, finds the claim and updates;
- create then immediate update: matching reads key-addressed items with strongly consistent reads;
- out-of-order delivery: per-field last-writer-wins by accept time, under optimistic locking (version);
- failures: permanent ones end the outcome `failed` (`invalid`) and consume the message; transient ones
  record the reason on the outcome and leave the message to SQS redelivery; on the last receive SQS
  allows, the outcome ends `failed` (`dead_lettered`) and the message goes to the DLQ.

The writes of one attempt go to one unit of work under names (REQUEST_ITEM, SESSION_ITEM, `claim:<uid>`),
so a cancelled commit says by name which condition failed. Which outcome move is made when is decided in
service.request_outcomes.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from session_ingest import limits
from session_ingest.domain.locations import location_number, resolve_location
from session_ingest.domain.mapping import renormalise_record
from session_ingest.domain.matching import MatchKeys, UidPlan, match_keys, plan_uid_claims
from session_ingest.domain.merge import merge_fields
from session_ingest.domain.models import EndpointType, IngestWarning
from session_ingest.domain.request_lifecycle import FailureKind, RequestRef
from session_ingest.domain.resource_ids import format_resource_id
from session_ingest.domain.session_fields import check_card_link
from session_ingest.domain.sessions import (
    ORGANISATION_UID_FIELD,
    SESSION_KIND,
    StoredSession,
    mergeable_fields,
    reserved_fields_in,
    stored_size_bytes,
)
from session_ingest.domain.utc import format_utc
from session_ingest.envelope import IngestEnvelope
from session_ingest.errors import (
    PermanentFailure,
    ProcessingError,
    RecordTooLarge,
    StoreUnavailable,
    TransientFailure,
    UnreadableMessage,
    WriteConflict,
    WriteRejected,
)
from session_ingest.observability import logger
from session_ingest.service import consumer_metrics
from session_ingest.service import request_outcomes as outcomes
from session_ingest.service.consumer_batch import BatchReads, RecordKeys, read_batch
from session_ingest.service.dependencies import ConsumerDependencies, consumer_dependencies
from session_ingest.service.matching import Match, find_match
from session_ingest.service.ports import (
    ClaimKey,
    CommitResult,
    Committed,
    ConditionFailed,
    NewSession,
    SessionChange,
    SessionKey,
    UnitOfWork,
)
from session_ingest.service.request_outcomes import REQUEST_ITEM

# 1 carried the raw payload beside the record (read, ignored); 2 carries the record alone.
SUPPORTED_SCHEMA_VERSIONS = frozenset({1, 2})
STALE_FIELD = "stale_field"
DUPLICATE_UID = "duplicate_organisation_uid"
RESOURCE_ID_NOT_FOUND = "resource_id_not_found"
SESSION_ITEM = "session"  # the session's name in the unit of work (the outcome's is REQUEST_ITEM)
# Reasons recorded on an outcome instead of AWS's own error text, which stays in the logs: a stable
# code first, then a sentence.
STORE_UNAVAILABLE_REASON = "store_unavailable: the tables could not be reached; the message is retried"
WRITE_REJECTED_REASON = "write_rejected: the store refused the write (its logs say why)"
UNEXPECTED_REASON = "unexpected_error: the consumer failed unexpectedly (its logs say why)"


def claim_item(organisation_uid: str) -> str:
    """A uid claim's name in the unit of work."""
    return f"claim:{organisation_uid}"


class ProcessStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    FAILED = "failed"
    ALREADY_FINAL = "already_final"  # a redelivery of a request whose outcome was already written


@dataclass(frozen=True)
class QueueMessage:
    """One SQS message as the consumer needs it."""

    body: str
    request_id: str | None = None  # the `request_id` message attribute
    receive_count: int = 1


@dataclass(frozen=True)
class ProcessResult:
    status: ProcessStatus
    request_id: str
    resource_id: str | None = None
    warnings: tuple[IngestWarning, ...] = ()


# -- entry point ------------------------------------------------------------------------------------------


def process_message(
    message: QueueMessage, deps: ConsumerDependencies | None = None, reads: BatchReads | None = None
) -> ProcessResult:
    """Process one message. Returns its result, or raises (UnreadableMessage, TransientFailure) to have
    the message reported as a batch item failure and redelivered. `reads`: its batch's reads
    (`prepare_batch`), which spare the record its own reads while they are fresh."""
    deps = deps or consumer_dependencies()
    try:
        envelope = read_envelope(message)
    except UnreadableMessage as error:
        _record_retry(
            deps, message, RequestRef(message.request_id) if message.request_id else None, error.reason
        )
        raise
    except PermanentFailure as error:
        return _fail(deps, RequestRef(_raw_request_id(message)), error.reason, [])
    try:
        if message.receive_count > 1 and (final := _already_final(deps, envelope)) is not None:
            return final
        return apply_envelope(envelope, deps, reads)
    except RecordTooLarge as error:
        return _fail(deps, _ref(envelope), error.reason, envelope.warnings, FailureKind.RECORD_TOO_LARGE)
    except PermanentFailure as error:
        return _fail(deps, _ref(envelope), error.reason, envelope.warnings)
    except WriteRejected as error:
        # DynamoDB refuses the write itself (e.g. an item over its size limit): no retry can succeed.
        # AWS's text (it may name roles, accounts, tables) goes to the log; the outcome gets a code.
        logger.error("the store refused the write", extra={"aws_error": str(error)})
        return _fail(deps, _ref(envelope), _with_code(WRITE_REJECTED_REASON, error), envelope.warnings)
    except ProcessingError as error:
        _record_retry(deps, message, _ref(envelope), error.reason)
        raise
    except StoreUnavailable as error:
        logger.warning("the store is unavailable", extra={"aws_error": str(error)})
        reason = _with_code(STORE_UNAVAILABLE_REASON, error)
        _record_retry(deps, message, _ref(envelope), reason)
        raise TransientFailure(reason) from error
    except Exception as error:
        # A defect: keep the message (it reaches the DLQ) and leave the reason where operators look;
        # the integrator, once it is dead-lettered, sees only a code (the text may hold anything).
        logger.exception("unexpected error while processing a message")
        _record_retry(
            deps, message, _ref(envelope), f"unexpected {type(error).__name__}: {error}", UNEXPECTED_REASON
        )
        raise


_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")


def _with_code(reason: str, error: Exception) -> str:
    """`reason` with the AWS error code (`ThrottlingException`), never its message: codes are stable and
    name no role, account or table, while messages may."""
    code = str(error).split(":", 1)[0].strip()
    return f"{reason} [{code}]" if _ERROR_CODE.fullmatch(code) else reason


def read_envelope(message: QueueMessage) -> IngestEnvelope:
    """The envelope in the message body.

    UnreadableMessage (kept for the DLQ): not JSON, no request id, or a schema version this consumer does
    not know — a newer producer's message survives a rolling deploy and can be redriven after it.
    PermanentFailure: an envelope of a known version that names its request but does not validate.
    """
    try:
        raw = json.loads(message.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UnreadableMessage(f"body is not JSON: {error}") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("request_id"), str):
        raise UnreadableMessage("body is not an ingest envelope (no request_id)")
    version = raw.get("schema_version", 1)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise UnreadableMessage(f"unsupported envelope schema_version {version!r}")
    try:
        return IngestEnvelope.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise PermanentFailure(f"invalid envelope: {problems}") from error


def prepare_batch(
    messages: Sequence[QueueMessage], deps: ConsumerDependencies | None = None
) -> BatchReads | None:
    """The reads and session numbers a batch of messages needs, made once (service.consumer_batch);
    None when they cannot be made, and each record then reads for itself. A message this cannot read is
    left out, for `process_message` to report."""
    deps = deps or consumer_dependencies()
    records = []
    for message in messages:
        try:
            records.append(_record_keys(_prepare(read_envelope(message))))
        except ProcessingError:
            continue
    if not records:
        return None
    try:
        return read_batch(deps.sessions, records)
    except (StoreUnavailable, WriteRejected) as error:
        logger.warning("batch read failed; each record reads for itself", extra={"reason": str(error)})
        return None


def _record_keys(prepared: _Prepared) -> RecordKeys:
    envelope = prepared.envelope
    return RecordKeys(envelope.event_id, envelope.organisation, prepared.keys, prepared.location_number)


def _raw_request_id(message: QueueMessage) -> str:
    raw = json.loads(message.body)
    return str(raw["request_id"])


def _ref(envelope: IngestEnvelope) -> RequestRef:
    return RequestRef(envelope.request_id, envelope.endpoint_id, envelope.accepted_at)


# -- the use case -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """The envelope's record, checked and split once (before any retry)."""

    envelope: IngestEnvelope
    keys: MatchKeys
    location_number: int | None
    fields: dict[str, Any]


def apply_envelope(
    envelope: IngestEnvelope, deps: ConsumerDependencies, reads: BatchReads | None = None
) -> ProcessResult:
    """Match and upsert, retrying lost races and optimistic-lock conflicts with jittered backoff. The first
    attempt uses the batch's reads and reserved numbers when they cover the record; retries read afresh."""
    prepared = _prepare(envelope)
    reserved_number: int | None = None
    lost: CommitResult | None = None
    for attempt in range(limits.MAX_WRITE_ATTEMPTS):
        if attempt:
            deps.sleep(_backoff_seconds(attempt))
        match = reads.match(_record_keys(prepared)) if reads is not None and attempt == 0 else None
        if match is None:
            match = find_match(
                deps.sessions,
                envelope.organisation,
                envelope.event_id,
                prepared.keys,
                prepared.location_number,
            )
        if match.session is None:
            if reserved_number is None and reads is not None and attempt == 0:
                reserved_number = reads.take_number(envelope.organisation)
            if reserved_number is None:
                reserved_number = deps.sessions.allocate_number(envelope.organisation, SESSION_KIND)
            done = _create(prepared, match, reserved_number, deps)
        else:
            done = _update(prepared, match, deps)
        if reads is not None:
            reads.wrote(*_touched(prepared, match, reserved_number))
        if isinstance(done, ProcessResult):
            return done
        if isinstance(done, ConditionFailed) and done.on(REQUEST_ITEM):
            return _redelivered(deps, envelope, done.item(REQUEST_ITEM))
        if isinstance(done, ConditionFailed) and match.session is None and done.on(SESSION_ITEM):
            reserved_number = None  # the number is taken (counter behind the table): draw another
        logger.info("write lost a race; re-reading", extra={"attempt": attempt + 1, "result": str(done)})
        lost = done
    raise WriteConflict(f"{limits.MAX_WRITE_ATTEMPTS} write attempts lost to concurrent writers ({lost})")


def _touched(
    prepared: _Prepared, match: Match, created_number: int | None
) -> tuple[set[SessionKey], set[ClaimKey]]:
    """The session and uid claims a write of this record changes (or would have, had it committed)."""
    event_id = prepared.envelope.event_id
    number = match.session.number if match.session is not None else created_number
    sessions = {(event_id, number)} if number is not None else set()
    uids = {prepared.keys.organisation_uid, _uid_taken(prepared.fields)}
    if match.session is not None:
        uids.add(match.session.organisation_uid)
    return sessions, {(event_id, uid) for uid in uids if uid}


def _prepare(envelope: IngestEnvelope) -> _Prepared:
    if envelope.endpoint_type != EndpointType.SESSION:
        raise PermanentFailure(f"no consumer for endpoint type {envelope.endpoint_type!s}")
    if reserved := reserved_fields_in(envelope.record):
        raise PermanentFailure(f"record sets reserved attributes: {', '.join(reserved)}")
    try:
        match_keys(envelope.record, envelope.organisation)
    except ValueError as error:
        raise PermanentFailure(f"resource_id: {error}") from error
    record, problems = renormalise_record(envelope.record, envelope.organisation, envelope.endpoint_type)
    if problems:
        details = "; ".join(f"{error.field}: {error.message}" for error in problems[:5])
        raise PermanentFailure(f"invalid_record: the record breaks the field rules ({details})")
    _check_stored_size(mergeable_fields(record))
    keys = match_keys(record, envelope.organisation)
    return _Prepared(
        envelope=envelope,
        keys=keys,
        location_number=location_number(record, envelope.organisation),
        fields=mergeable_fields(record),
    )


def _check_stored_size(fields: dict[str, Any]) -> None:
    """Refuse, before writing, a session DynamoDB could never store (it would refuse the item anyway)."""
    size = stored_size_bytes(fields)
    if size > limits.MAX_STORED_SESSION_BYTES:
        raise RecordTooLarge(size, limits.MAX_STORED_SESSION_BYTES)


def _backoff_seconds(attempt: int) -> float:
    """Full jitter: racing consumers spread out instead of colliding again in lockstep."""
    ceiling = min(limits.WRITE_RETRY_MAX_SECONDS, limits.WRITE_RETRY_BASE_SECONDS * 2**attempt)
    return random.uniform(0, ceiling)


def _base_warnings(prepared: _Prepared, match: Match) -> tuple[dict[str, Any], list[IngestWarning]]:
    envelope = prepared.envelope
    fields, warnings = resolve_location(
        prepared.fields,
        envelope.organisation,
        envelope.event_id,
        prepared.location_number,
        match.location_exists,
    )
    if match.resource_id_unmatched:
        given = envelope.record.get("resource_id")
        how = f"matched by {match.decision.by.value}" if match.decision.by else "created a new session"
        warnings.insert(
            0,
            IngestWarning(
                code=RESOURCE_ID_NOT_FOUND,
                field="resource_id",
                message=f"no session {given} in event {envelope.event_id}: {how}",
            ),
        )
    return fields, warnings


def _create(
    prepared: _Prepared, match: Match, number: int, deps: ConsumerDependencies
) -> ProcessResult | CommitResult:
    """Create the session; the ProcessResult once committed, else what stopped the commit."""
    envelope = prepared.envelope
    fields, warnings = _base_warnings(prepared, match)
    resource_id = format_resource_id(envelope.organisation, SESSION_KIND, number)
    uid_plan = plan_uid_claims(number, None, prepared.keys.organisation_uid, match.claim, None)
    now = deps.clock.now()
    all_warnings = [*envelope.warnings, *warnings]
    uow = deps.unit_of_work()
    outcomes.stage_processed(uow, deps.ledger, _ref(envelope), "created", resource_id, all_warnings, now)
    new = NewSession(envelope.event_id, envelope.organisation, number, fields, envelope.accepted_at)
    uow.add(SESSION_ITEM, deps.sessions.put_new_session(new, now))
    _stage_claims(uow, deps, envelope, uid_plan, now)
    if not isinstance(result := uow.commit(), Committed):
        return result
    consumer_metrics.count(consumer_metrics.SESSIONS_CREATED)
    consumer_metrics.accept_to_processed(envelope.accepted_at, now)
    logger.info("session created", extra={"resource_id": resource_id, "event_id": envelope.event_id})
    return ProcessResult(ProcessStatus.CREATED, envelope.request_id, resource_id, tuple(warnings))


def _update(prepared: _Prepared, match: Match, deps: ConsumerDependencies) -> ProcessResult | CommitResult:
    """Update the matched session; the ProcessResult once committed, else what stopped the commit."""
    envelope = prepared.envelope
    session = match.session
    assert session is not None
    fields, warnings = _base_warnings(prepared, match)
    merge = merge_fields(session.fields, session.field_accepted_at, fields, envelope.accepted_at)
    merged = {**session.fields, **merge.applied}
    if link := check_card_link(merged):
        raise PermanentFailure(f"invalid_record: with the stored session, {link[0].field} {link[0].message}")
    _check_stored_size(merged)
    warnings.extend(_stale_warning(name, session.field_accepted_at[name]) for name in merge.stale)
    new_uid = _uid_taken(merge.applied)
    uid_plan, duplicate = _uid_claims(prepared, match, session, new_uid, deps)
    if duplicate is not None:
        warnings.append(_duplicate_warning(duplicate))
    now = deps.clock.now()
    uow = deps.unit_of_work()
    all_warnings = [*envelope.warnings, *warnings]
    outcomes.stage_processed(
        uow, deps.ledger, _ref(envelope), "updated", session.resource_id, all_warnings, now
    )
    if merge.applied or uid_plan.writes:
        change = SessionChange(session, merge.applied, envelope.accepted_at, new_uid, envelope.organisation)
        uow.add(SESSION_ITEM, deps.sessions.update_session(change, now))
    _stage_claims(uow, deps, envelope, uid_plan, now)
    if not isinstance(result := uow.commit(), Committed):
        return result
    _report_update(envelope, session.resource_id, merge.stale, duplicate, now)
    logger.info("session updated", extra={"resource_id": session.resource_id, "by": match.decision.by})
    return ProcessResult(ProcessStatus.UPDATED, envelope.request_id, session.resource_id, tuple(warnings))


def _stage_claims(
    uow: UnitOfWork, deps: ConsumerDependencies, envelope: IngestEnvelope, plan: UidPlan, now: datetime
) -> None:
    for write in plan.writes:
        uow.add(
            claim_item(write.organisation_uid),
            deps.sessions.write_claim(envelope.event_id, envelope.organisation, write, now),
        )


@dataclass(frozen=True)
class _Duplicate:
    """contract §6 rule 4: an organisation uid on more than one session."""

    organisation_uid: str
    resource_ids: list[str]


def _uid_claims(
    prepared: _Prepared,
    match: Match,
    session: StoredSession,
    new_uid: str | None,
    deps: ConsumerDependencies,
) -> tuple[UidPlan, _Duplicate | None]:
    """The claim writes for the session's uid change, and the duplicate it makes or carries, if any."""
    previous_uid = session.organisation_uid
    moving = new_uid is not None and previous_uid is not None and previous_uid != new_uid
    previous_claim = (
        deps.sessions.get_claim(session.event_id, previous_uid) if moving and previous_uid else None
    )
    new_claim = match.claim if new_uid == prepared.keys.organisation_uid else None
    plan = plan_uid_claims(session.number, previous_uid, new_uid, new_claim, previous_claim)
    holders = _duplicate_holders(plan.duplicate_holders, match, session.number)
    uid = new_uid or prepared.keys.organisation_uid
    if not holders or uid is None:
        return plan, None
    organisation = prepared.envelope.organisation
    return plan, _Duplicate(uid, [format_resource_id(organisation, SESSION_KIND, n) for n in holders])


def _report_update(
    envelope: IngestEnvelope,
    resource_id: str,
    stale: tuple[str, ...],
    duplicate: _Duplicate | None,
    processed_at: datetime,
) -> None:
    """Metrics and warning lines of a committed update (never of an attempt that lost a race)."""
    consumer_metrics.count(consumer_metrics.SESSIONS_UPDATED)
    consumer_metrics.count(consumer_metrics.STALE_FIELDS_SKIPPED, len(stale))
    consumer_metrics.accept_to_processed(envelope.accepted_at, processed_at)
    if stale:
        logger.info("stale fields skipped", extra={"fields": list(stale), "resource_id": resource_id})
    if duplicate is not None:
        consumer_metrics.duplicate_organisation_uid(
            envelope.request_id, envelope.event_id, duplicate.organisation_uid, duplicate.resource_ids
        )


def _uid_taken(applied: dict[str, Any]) -> str | None:
    """The uid this write gives the session, when the write sets one (not stale, not empty)."""
    value = applied.get(ORGANISATION_UID_FIELD)
    return str(value) if value else None


def _duplicate_holders(planned: tuple[int, ...], match: Match, session_number: int) -> tuple[int, ...]:
    """Rule 4: holders when the uid ends up on several sessions now, or the updated session carries a
    uid that was already found on several."""
    if planned:
        return planned
    claim = match.claim
    if claim is not None and len(claim.holders) > 1 and session_number in claim.holders:
        return claim.holders
    return ()


def _stale_warning(name: str, newer: datetime) -> IngestWarning:
    return IngestWarning(
        code=STALE_FIELD,
        field=name,
        message=f"not applied: a request accepted later ({format_utc(newer)}) already set this field",
    )


def _duplicate_warning(duplicate: _Duplicate) -> IngestWarning:
    sessions = ", ".join(duplicate.resource_ids)
    return IngestWarning(
        code=DUPLICATE_UID,
        field=ORGANISATION_UID_FIELD,
        message=f"organisation uid {duplicate.organisation_uid!r} is on more than one session: {sessions}",
    )


# -- outcomes ---------------------------------------------------------------------------------------------


def _redelivered(
    deps: ConsumerDependencies, envelope: IngestEnvelope, item: dict[str, Any] | None
) -> ProcessResult:
    stored = deps.ledger.outcome_in(item)
    status = None if stored is None else stored.status.value
    logger.info("request already final; redelivery changes nothing", extra={"status": status})
    return ProcessResult(
        ProcessStatus.ALREADY_FINAL, envelope.request_id, None if stored is None else stored.resource_id
    )


def _already_final(deps: ConsumerDependencies, envelope: IngestEnvelope) -> ProcessResult | None:
    """On a redelivery, skip all work when the outcome is already final (saves a wasted session number)."""
    stored = deps.ledger.get(envelope.request_id)
    if stored is None or not outcomes.redelivery_of_final(stored):
        return None
    logger.info("request already final; redelivery changes nothing", extra={"status": stored.status.value})
    return ProcessResult(ProcessStatus.ALREADY_FINAL, envelope.request_id, stored.resource_id)


def _fail(
    deps: ConsumerDependencies,
    ref: RequestRef,
    reason: str,
    warnings: list[IngestWarning],
    kind: FailureKind = FailureKind.INVALID,
) -> ProcessResult:
    """A permanent failure: the outcome says why, and the message is consumed (not retried forever)."""
    logger.error("request failed permanently", extra={"reason": reason})
    outcomes.fail_invalid(deps.ledger, ref, reason, warnings, deps.clock.now(), kind)
    consumer_metrics.count(consumer_metrics.RECORDS_FAILED)
    return ProcessResult(ProcessStatus.FAILED, ref.request_id)


def _record_retry(
    deps: ConsumerDependencies,
    message: QueueMessage,
    ref: RequestRef | None,
    reason: str,
    public_reason: str | None = None,
) -> None:
    """Best effort: keep the last failure on the outcome so operators can explain it; on the message's
    last allowed receive (it goes to the DLQ next), the outcome becomes failed, dead-lettered, with
    `public_reason` (default: `reason`) among the errors its integrator reads."""
    consumer_metrics.count(consumer_metrics.RECORDS_FAILED)
    logger.warning("message failed; left for redelivery", extra={"reason": reason})
    if ref is None:
        return
    now = deps.clock.now()
    try:
        outcomes.note_retry(deps.ledger, ref.request_id, reason, now)
        if outcomes.is_last_receive(message.receive_count, deps.max_receive_count):
            outcomes.fail_dead_lettered(deps.ledger, ref, public_reason or reason, now)
    except (StoreUnavailable, WriteRejected):
        logger.exception("could not record the failure reason on the request outcome")
