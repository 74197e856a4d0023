"""Failures as types. The ingest API maps them to HTTP in exactly one place (service/http_errors)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One field that failed validation; becomes an entry of the 422 `details`."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class IngestError(Exception):
    """Base of every error that ends a request with a documented status."""


class PayloadTooLarge(IngestError):
    pass


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
    pass


class EnqueueFailed(IngestError):
    """The request could not be stored or queued: the client must retry (5xx)."""


@dataclass
class InvalidMapping(Exception):
    """An endpoint's mapping rules are unusable (configuration error, not a request error)."""

    reason: str

    def __str__(self) -> str:
        return self.reason
