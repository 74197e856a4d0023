"""The ingest API's use cases (contract §4, §7): accept a payload, dry-run it, report a request's outcome.

Checks run in the documented order: size (413) and media type (415) before anything is parsed; the
token (401) before the endpoint's existence or state is revealed (404); then the rate limit (429);
then the Idempotency-Key and the JSON (400); then schema, mapping and field validation (422); then the
durable store and the queue. Parsing and validation are pure, so they run before the request is
counted, but their verdict is only given once the request has spent its rate-limit unit: a client
over its limit gets 429 whatever its body, exactly as if the limit had been checked first, and an
accepted request is counted by the same transaction that stores it (two AWS calls in all, warm).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from session_ingest import limits
from session_ingest.adapters.queue_publisher import QueueUnavailable
from session_ingest.domain.admission import raw_body, require_json_media_type
from session_ingest.domain.batch import payload_verdict
from session_ingest.domain.idempotency import (
    IdempotencyClaim,
    Repeat,
    StoredClaim,
    judge_repeat,
    sha256_hex,
    validated_key,
)
from session_ingest.domain.json_body import parse_json_body
from session_ingest.domain.models import (
    EndpointConfig,
    IngestWarning,
    MappingResult,
    RequestStatus,
    StoredOutcome,
)
from session_ingest.domain.rate_limit import RateLimitState, RateWindow
from session_ingest.domain.tokens import bearer_token, secret_matches
from session_ingest.envelope import IngestEnvelope
from session_ingest.errors import (
    EndpointNotFound,
    EnqueueFailed,
    IdempotencyConflict,
    IdempotencyInProgress,
    InvalidIdempotencyKey,
    MalformedJson,
    RateLimited,
    RequestNotFound,
    StoreError,
    StoreUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from session_ingest.observability import logger
from session_ingest.service.api_metrics import record_accepted, record_replayed
from session_ingest.service.dependencies import IngestDependencies, ingest_dependencies
from session_ingest.service.ports import CommitResult, Committed, ConditionFailed, UnitOfWork
from session_ingest.service.request_outcomes import fail_not_queued, may_accept_again

if TYPE_CHECKING:
    from session_ingest.service.match_preview import DryRunMatch

# The items of the acceptance unit of work, by name.
COUNTER = "counter"
REQUEST = "request"
IDEMPOTENCY_KEY = "idempotency_key"


@dataclass(frozen=True)
class IngestRequest:
    """One POST as the handler hands it over: raw, nothing parsed or trusted yet."""

    endpoint_id: str
    request_id: str
    authorization: str | None = field(repr=False)  # holds the bearer token
    content_type: str | None
    body: str | None
    body_is_base64: bool = False
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AcceptedRequest:
    """The request is durably queued (or was, for a replay: `request_id` is then the first one's)."""

    request_id: str
    rate: RateLimitState
    replayed: bool = False


@dataclass(frozen=True)
class DryRun:
    record: dict[str, Any]
    warnings: list[IngestWarning]
    match: DryRunMatch
    rate: RateLimitState


@dataclass(frozen=True)
class OutcomeLookup:
    outcome: StoredOutcome
    rate: RateLimitState


@dataclass(frozen=True)
class RequestListing:
    document: dict[str, Any]
    rate: RateLimitState


@dataclass(frozen=True)
class _Screened:
    """A request that passed every check that needs no write."""

    config: EndpointConfig
    window: RateWindow
    raw: bytes
    payload: dict[str, Any]
    mapped: MappingResult
    idempotency_key: str | None


def canonical_uuid(value: str) -> str | None:
    """`value` as a lower-case hyphenated UUID, or None when it is no UUID.

    Ids from the path are compared in this one form, so `{…}`, upper-case or unhyphenated spellings
    of an id name the same endpoint or request rather than a different cache entry.
    """
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def authenticate(deps: IngestDependencies, endpoint_id: str, authorization: str | None) -> EndpointConfig:
    """The endpoint the bearer token opens. 401 for every token problem, 404 only after a valid token."""
    presented = bearer_token(authorization)
    canonical_id = canonical_uuid(endpoint_id)
    if presented is None or canonical_id is None:
        raise Unauthenticated
    endpoint = deps.endpoints.get(canonical_id, presented.token_id)
    token = None if endpoint is None else endpoint.tokens.get(presented.token_id)
    if endpoint is None or endpoint.config.endpoint_id != canonical_id:
        raise Unauthenticated
    if token is None or not secret_matches(presented, token):
        raise Unauthenticated
    if not token.is_usable_at(deps.clock.now()):
        raise Unauthenticated
    if not endpoint.config.enabled:
        raise EndpointNotFound
    return endpoint.config


def validate_payload(config: EndpointConfig, raw: bytes) -> tuple[dict[str, Any], MappingResult]:
    """Parse strictly, then apply the endpoint's JSON Schema and mapping: 400 or 422 on failure.

    The verdict is `payload_verdict`'s, the rule every item of a batch meets too (contract §4b)."""
    payload = parse_json_body(raw, max_depth=limits.MAX_JSON_DEPTH)
    mapped = payload_verdict(config, payload)
    if not mapped.ok:
        raise ValidationFailed(mapped.errors)
    return payload, mapped


def rate_window(deps: IngestDependencies, config: EndpointConfig) -> RateWindow:
    return RateWindow.containing(
        config.endpoint_id, config.rate_limit_per_minute, deps.clock.now().timestamp()
    )


def rate_limited(deps: IngestDependencies, window: RateWindow) -> RateLimited:
    return RateLimited(limit=window.limit, reset_seconds=window.reset_seconds(deps.clock.now().timestamp()))


def known_rate_state(deps: IngestDependencies, window: RateWindow) -> RateLimitState:
    return window.state(deps.known_counts.known(window), deps.clock.now().timestamp())


def spend_rate_unit(deps: IngestDependencies, window: RateWindow) -> RateLimitState:
    """Count a request that stores nothing (a rejection or a dry run): 429 when the window is full.

    Fails open: if the counter cannot be written, the request is not refused for it (it stores
    nothing, and the verdict it is about to get does not depend on the count).
    """
    try:
        consumed = deps.ledger.consume(window)
    except StoreUnavailable:
        logger.warning("rate counter unavailable; request not counted", exc_info=True)
        return known_rate_state(deps, window)
    deps.known_counts.observe(window, consumed.count)
    if not consumed.admitted:
        raise rate_limited(deps, window)
    return window.state(consumed.count, deps.clock.now().timestamp())


def admit(
    deps: IngestDependencies, request: IngestRequest, max_body_bytes: int = limits.MAX_BODY_BYTES
) -> tuple[bytes, EndpointConfig, RateWindow]:
    """The checks every ingest POST meets first, in contract §4's order: body size, media type, token,
    then a window already known to be full (429 without a write). Single and batch alike."""
    raw = raw_body(request.body, request.body_is_base64, max_body_bytes)
    require_json_media_type(request.content_type)
    config = authenticate(deps, request.endpoint_id, request.authorization)
    window = rate_window(deps, config)
    if deps.known_counts.is_exhausted(window):
        raise rate_limited(deps, window)
    return raw, config, window


@contextmanager
def counted_when_refused(deps: IngestDependencies, window: RateWindow) -> Iterator[None]:
    """A request refused as malformed or invalid (400/422) still spends its rate-limit unit."""
    try:
        yield
    except (InvalidIdempotencyKey, MalformedJson, ValidationFailed):
        spend_rate_unit(deps, window)
        raise


def refuse_when_counter_full(deps: IngestDependencies, window: RateWindow, result: CommitResult) -> None:
    """429 when the acceptance's unit of work failed on its rate counter (read from the failed
    condition, so it costs no extra call)."""
    if isinstance(result, ConditionFailed) and result.on(COUNTER):
        deps.known_counts.observe(window, deps.ledger.count_in(result.item(COUNTER)))
        raise rate_limited(deps, window)


def _screen(deps: IngestDependencies, request: IngestRequest, *, with_idempotency: bool) -> _Screened:
    raw, config, window = admit(deps, request)
    with counted_when_refused(deps, window):
        key = None
        if with_idempotency and request.idempotency_key is not None:
            key = validated_key(request.idempotency_key)
        payload, mapped = validate_payload(config, raw)
    return _Screened(config, window, raw, payload, mapped, key)


def accept_payload(request: IngestRequest, deps: IngestDependencies | None = None) -> AcceptedRequest:
    """Validate, store and queue one payload. A 200 only ever follows a successful SQS send."""
    deps = deps or ingest_dependencies()
    screened = _screen(deps, request, with_idempotency=True)
    now = deps.clock.now()
    claim = _claim(screened, request.request_id)
    outcome = StoredOutcome(
        request_id=request.request_id,
        endpoint_id=screened.config.endpoint_id,
        status=RequestStatus.QUEUED,
        accepted_at=now,
        warnings=screened.mapped.warnings,
        config_version=screened.config.config_version,
    )
    try:
        result = stage_acceptance(deps, outcome, screened.window, claim).commit()
    except StoreError as error:
        logger.error("request not stored", extra={"reason": str(error)})
        raise EnqueueFailed from error
    refuse_when_counter_full(deps, screened.window, result)
    if isinstance(result, ConditionFailed) and (held := result.item(IDEMPOTENCY_KEY)) is not None:
        assert claim is not None  # only a claim can be already claimed
        return _answer_repeat(deps, screened, deps.ledger.claim_in(held), claim)
    if not isinstance(result, Committed):
        logger.error("request not stored", extra={"reason": str(result)})
        raise EnqueueFailed
    deps.known_counts.add_accepted(screened.window)
    _enqueue(deps, _envelope(screened, outcome), claim)
    record_accepted()
    logger.info("request accepted", extra={"endpoint_id": screened.config.endpoint_id})
    return AcceptedRequest(request.request_id, known_rate_state(deps, screened.window))


def stage_acceptance(
    deps: IngestDependencies, outcome: StoredOutcome, window: RateWindow, claim: IdempotencyClaim | None
) -> UnitOfWork:
    """The writes that accept a request, all or nothing: the rate counter's conditional increment, the
    `queued` outcome and, with an Idempotency-Key, its claim. A rate-limited or repeated request leaves
    no trace, and a counted request always has its outcome. A failed condition returns the counter or
    the claim as stored, so telling 429 from a replay costs no extra read."""
    uow = deps.unit_of_work()
    uow.add(COUNTER, deps.ledger.count_request(window))
    uow.add(REQUEST, deps.ledger.new_request(outcome))
    if claim is not None:
        uow.add(IDEMPOTENCY_KEY, deps.ledger.claim_key(claim, outcome.accepted_at))
    return uow


def _claim(screened: _Screened, request_id: str) -> IdempotencyClaim | None:
    if screened.idempotency_key is None:
        return None
    return IdempotencyClaim(
        endpoint_id=screened.config.endpoint_id,
        key_sha256=sha256_hex(screened.idempotency_key),
        body_sha256=sha256_hex(screened.raw),
        request_id=request_id,
    )


def _envelope(screened: _Screened, outcome: StoredOutcome) -> IngestEnvelope:
    assert screened.mapped.record is not None  # validate_payload guarantees a record
    return IngestEnvelope(
        request_id=outcome.request_id,
        endpoint_id=screened.config.endpoint_id,
        organisation=screened.config.organisation,
        event_id=screened.config.event_id,
        endpoint_type=screened.config.endpoint_type,
        accepted_at=outcome.accepted_at,
        record=screened.mapped.record,
        warnings=screened.mapped.warnings,
    )


def _answer_repeat(
    deps: IngestDependencies, screened: _Screened, existing: StoredClaim, claim: IdempotencyClaim
) -> AcceptedRequest:
    verdict = judge_repeat(existing, claim.body_sha256, deps.clock.now().timestamp())
    if verdict is Repeat.ABANDONED:  # the first attempt's transaction already counted it
        return _resume(deps, screened, replace(claim, request_id=existing.request_id))
    # A replay, a conflict and an in-flight answer store nothing, so the cancelled accept transaction
    # counted nothing: each spends its unit here, like any other request that stores nothing (a client
    # looping on one key meets its rate limit too).
    rate = spend_rate_unit(deps, screened.window)
    if verdict is Repeat.CONFLICT:
        raise IdempotencyConflict
    if verdict is Repeat.IN_FLIGHT:
        raise IdempotencyInProgress(retry_after_seconds=1)
    logger.info("idempotent replay", extra={"original_request_id": existing.request_id})
    record_replayed()
    return AcceptedRequest(existing.request_id, rate, replayed=True)


def _resume(deps: IngestDependencies, screened: _Screened, claim: IdempotencyClaim) -> AcceptedRequest:
    """Finish a request that stopped between storing and confirming its key, under its own id.

    It may have died before its send, or after it (a Lambda timeout): sending its envelope again is safe
    either way, because the consumer finalises a request id once and treats a second copy as a
    redelivery. A request known never to have been queued is stored `queued` again first. Its accept
    time stays the first one. Any AWS error here is a 503: the client's retry resumes again.
    """
    try:
        first = deps.ledger.get(claim.request_id)
        if first is None or may_accept_again(first):
            first = StoredOutcome(
                request_id=claim.request_id,
                endpoint_id=screened.config.endpoint_id,
                status=RequestStatus.QUEUED,
                accepted_at=first.accepted_at if first is not None else deps.clock.now(),
                warnings=screened.mapped.warnings,
                config_version=screened.config.config_version,
            )
            if not deps.ledger.reopen(first):
                raise IdempotencyInProgress(retry_after_seconds=1)  # another repeat is resuming it
        if first.status is RequestStatus.QUEUED:
            deps.send(_envelope(screened, first))
        deps.ledger.confirm_claim(claim)
    except (StoreError, QueueUnavailable) as error:
        logger.error("abandoned request not resumed", extra={"reason": str(error)})
        raise EnqueueFailed from error
    record_accepted()  # the first invocation stopped before counting it
    logger.info("abandoned request resumed", extra={"original_request_id": claim.request_id})
    return AcceptedRequest(claim.request_id, known_rate_state(deps, screened.window), replayed=True)


def _enqueue(deps: IngestDependencies, envelope: IngestEnvelope, claim: IdempotencyClaim | None) -> None:
    """Send the message; on failure undo what claims success, so the client's retry starts clean."""
    try:
        deps.send(envelope)
    except QueueUnavailable as error:
        logger.error("message not queued; the client is told to retry", extra={"reason": str(error)})
        _undo_acceptance(deps, envelope.request_id, claim)
        raise EnqueueFailed from error
    if claim is not None:
        try:
            deps.ledger.confirm_claim(claim)
        except StoreError:
            # The message is queued, so the answer is still 200; a repeat of this key now gets 409
            # until the claim goes stale.
            logger.exception("queued, but the idempotency claim could not be confirmed")


def _undo_acceptance(deps: IngestDependencies, request_id: str, claim: IdempotencyClaim | None) -> None:
    """Record the request not queued, then give its key back, in that order.

    The key is released only once the record says `not_queued`. When that write fails too, the request
    item still says `queued` with no message behind it; keeping the key then lets the client's retry with
    it resume this request under its own id once the claim goes stale (`_resume` sends it again), instead
    of queuing a new request and leaving this one `queued` for ever.
    """
    try:
        fail_not_queued(deps.ledger, request_id)
    except StoreError:
        logger.exception("could not mark the request item as not queued; its key is kept for a resume")
        return
    if claim is not None:
        try:
            deps.ledger.release_claim(claim)
        except StoreError:
            logger.exception("could not release the idempotency claim")


def dry_run(request: IngestRequest, deps: IngestDependencies | None = None) -> DryRun:
    """Every check of `accept_payload` and the match it would make; nothing stored or queued.

    A dry run counts against the endpoint's rate limit like any request (it reads the sessions
    table, and a client probing in a loop should meet the same limit). Idempotency-Key is ignored.
    """
    deps = deps or ingest_dependencies()
    screened = _screen(deps, request, with_idempotency=False)
    rate = spend_rate_unit(deps, screened.window)
    assert screened.mapped.record is not None
    match = deps.preview_match(screened.config, screened.mapped.record)
    return DryRun(screened.mapped.record, screened.mapped.warnings, match, rate)


def get_request_outcome(
    endpoint_id: str, request_id: str, authorization: str | None, deps: IngestDependencies | None = None
) -> OutcomeLookup:
    """The outcome of one of the endpoint's requests; another endpoint's request is as unknown (404).

    Status lookups do not spend rate-limit units (an integrator polling its own requests should not
    eat into its ingest quota); the RateLimit-* headers report the window's exact count, read in the
    same call as the outcome.
    """
    deps = deps or ingest_dependencies()
    config = authenticate(deps, endpoint_id, authorization)
    canonical_request_id = canonical_uuid(request_id)
    if canonical_request_id is None:
        raise RequestNotFound
    window = rate_window(deps, config)
    outcome, count = deps.ledger.outcome_and_count(canonical_request_id, window)
    deps.known_counts.observe(window, count)
    if outcome is None or outcome.endpoint_id != config.endpoint_id:
        raise RequestNotFound
    return OutcomeLookup(outcome, window.state(count, deps.clock.now().timestamp()))


def list_endpoint_requests(
    endpoint_id: str,
    authorization: str | None,
    parameters: Mapping[str, str | None],
    deps: IngestDependencies | None = None,
) -> RequestListing:
    """A page of the endpoint's own requests, newest first (contract §9); a bad parameter is a 400.

    Like a status lookup it spends no rate-limit unit, and it reads no counter either: the RateLimit-*
    headers report what this instance knows of the window (a lower bound of the count).
    """
    # Imported here: only listings need the listing rules and view (the cold start of every other request
    # does not pay for them).
    from session_ingest.domain.request_listing import parse_listing_query
    from session_ingest.service.request_listing import list_requests

    deps = deps or ingest_dependencies()
    config = authenticate(deps, endpoint_id, authorization)
    query = parse_listing_query(config.endpoint_id, parameters)
    document = list_requests(deps.ledger, query)
    window = rate_window(deps, config)
    return RequestListing(
        document, window.state(deps.known_counts.known(window), deps.clock.now().timestamp())
    )
