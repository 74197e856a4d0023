"""Counting the AWS calls the service's own (cached) clients make, for tests that pin a path's cost."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

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
