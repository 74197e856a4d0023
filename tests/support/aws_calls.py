"""The AWS calls the service's own (cached) clients make: counted, for tests that pin a path's cost, or
made to fail, for tests of a rare path."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from session_ingest.adapters.aws import client


@contextmanager
def counting_aws_calls(services: Sequence[str] = ("dynamodb", "sqs")) -> Iterator[list[str]]:
    """The calls made while inside, in order, by operation (`"dynamodb.BatchGetItem"`)."""
    made: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        made.append(event_name.removeprefix("before-call."))

    for service in services:
        client(service).meta.events.register("before-call", count)
    try:
        yield made
    finally:
        for service in services:
            client(service).meta.events.unregister("before-call", count)


class InjectedErrors:
    """Makes the chosen calls of one operation fail with `error_response` before they are sent (as after
    botocore's retries), counting every call. `failing_calls`: 1-based call numbers; None fails them all."""

    def __init__(
        self, operation: str, error_response: dict[str, Any], failing_calls: set[int] | None
    ) -> None:
        self.operation = operation
        self.error_response = error_response
        self.failing_calls = failing_calls
        self.calls = 0

    def __call__(self, **_: Any) -> None:
        self.calls += 1
        if self.failing_calls is None or self.calls in self.failing_calls:
            raise ClientError(self.error_response, self.operation)


@contextmanager
def injected_errors(
    service: str, operation: str, error_response: dict[str, Any], failing_calls: set[int] | None = None
) -> Iterator[InjectedErrors]:
    """While inside, `operation` calls of the service's `service` client fail as InjectedErrors says."""
    inject = InjectedErrors(operation, error_response, failing_calls)
    event = f"before-call.{service}.{operation}"
    client(service).meta.events.register(event, inject)
    try:
        yield inject
    finally:
        client(service).meta.events.unregister(event, inject)
