"""Failures as types. The ingest API maps them to HTTP in exactly one place (service/http_replies)."""

from __future__ import annotations

from dataclasses import dataclass, field

from session_ingest import limits


@dataclass(frozen=True)
class FieldError:
    """One field that failed validation; becomes an entry of the 422 `details`."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class IngestError(Exception):
    """Base of every error that ends a request with a documented status."""


@dataclass
class PayloadTooLarge(IngestError):
    """The body is larger than the route allows (256 KiB for one payload, 1 MiB for a batch)."""

    max_bytes: int = limits.MAX_BODY_BYTES


class UnsupportedMediaType(IngestError):
    pass


class Unauthenticated(IngestError):
    pass


class EndpointNotFound(IngestError):
    pass


class RequestNotFound(IngestError):
    pass


@dataclass
class RateLimited(IngestError):
    limit: int
    reset_seconds: int


@dataclass
class MalformedJson(IngestError):
    """The body is not strict JSON (invalid UTF-8, syntax, duplicate keys, NaN, too deep)."""

    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass
class ValidationFailed(IngestError):
    errors: list[FieldError] = field(default_factory=list)


class IdempotencyConflict(IngestError):
    """The Idempotency-Key was already used with a different body (contract §7)."""


@dataclass
class InvalidIdempotencyKey(IngestError):
    """The Idempotency-Key header is empty, longer than allowed or holds control characters."""

    reason: str


@dataclass
class IdempotencyInProgress(IngestError):
    """The first request with this key is still being stored and queued; retry shortly."""

    retry_after_seconds: int


class EnqueueFailed(IngestError):
    """The request could not be stored or queued: the client must retry (5xx)."""


@dataclass
class InvalidMapping(Exception):
    """An endpoint's mapping rules are unusable (configuration error, not a request error)."""

    reason: str

    def __str__(self) -> str:
        return self.reason


# -- stores ---------------------------------------------------------------------------------------------


class StoreError(Exception):
    """A DynamoDB call did not do what was asked. Adapters raise these instead of botocore's errors."""


class StoreUnavailable(StoreError):
    """The store did not take the call (throttling past retries, an outage, contention past retries):
    worth retrying later."""


class WriteRejected(StoreError):
    """The store refused the write as invalid (e.g. an item over DynamoDB's size limit): retrying the
    same write can never succeed."""


# -- consumer ---------------------------------------------------------------------------------------------


class ProcessingError(Exception):
    """A queued message the consumer could not process; `reason` is what operators are shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnreadableMessage(ProcessingError):
    """The body is not an envelope this consumer can read. The message is reported failed and, after
    the queue's receive count, kept in the DLQ for inspection and redrive (e.g. after an upgrade)."""


class PermanentFailure(ProcessingError):
    """The request can never succeed: its outcome becomes `failed` and the message is consumed."""


class RecordTooLarge(PermanentFailure):
    """The session the request would leave is larger than a DynamoDB item may be."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"record_too_large: the session would take about {size:,} bytes with this request's fields, "
            f"more than the {limit:,} a stored session may hold; send smaller texts"
        )


class OrganisationMismatch(PermanentFailure):
    """A message whose match keys found another organisation's session or uid in its event."""

    def __init__(self, field: str, event_id: int) -> None:
        super().__init__(
            f"organisation_mismatch: the {field} matches data of another organisation in event {event_id}; "
            "an event belongs to exactly one organisation, so nothing was changed"
        )
        self.field = field


class TransientFailure(ProcessingError):
    """Worth retrying: the message is reported failed and SQS redelivers it."""


class WriteConflict(TransientFailure):
    """Concurrent writers kept winning the optimistic-lock race past the bounded retries."""


class InvalidListingQuery(IngestError, ValueError):
    """A listing parameter (status, since, limit, cursor) that cannot be used: a 400 `invalid_query`."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message
