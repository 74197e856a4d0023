"""DynamoDB throttling injected at the HTTP layer: botocore retries it; past its retries the message is
left for redelivery, with nothing written in part. Runs against the moto server so that the injected
response replaces the real HTTP call (in-process moto would still apply the write)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff

from ingestctl.local.template import CreatedResources
from session_ingest.adapters.aws import client
from session_ingest.errors import TransientFailure
from session_ingest.service.process import ProcessStatus
from tests.support.consumer import deliver, make_envelope, outcome, queue_request, sessions, stored_sessions

_THROTTLED = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}'


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class ThrottleTransactions:
    """A before-send hook answering the next `times` TransactWriteItems calls with ThrottlingException."""

    def __init__(self, times: int) -> None:
        self.remaining = times
        self.throttled = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.remaining <= 0:
            return None
        self.remaining -= 1
        self.throttled += 1
        headers = {"x-amzn-ErrorType": "ThrottlingException", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, _RawBody(_THROTTLED))


@pytest.fixture
def throttle(
    moto_server: CreatedResources, monkeypatch: pytest.MonkeyPatch
) -> Iterator[type[ThrottleTransactions]]:
    # botocore's own backoff stays in play, only without its sleeps
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    installed: list[ThrottleTransactions] = []

    def install(times: int) -> ThrottleTransactions:
        hook = ThrottleTransactions(times)
        client("dynamodb").meta.events.register_first("before-send.dynamodb.TransactWriteItems", hook)
        installed.append(hook)
        return hook

    yield install  # type: ignore[misc]
    for hook in installed:
        client("dynamodb").meta.events.unregister("before-send.dynamodb.TransactWriteItems", hook)


def test_throttled_writes_are_retried_by_botocore_and_succeed(throttle: Any) -> None:
    # Given DynamoDB throttles the next two transactions
    hook = throttle(2)
    envelope = make_envelope({"organisation_uid": "t-1", "name": "throttled"})
    queue_request(envelope)
    # When the message is processed
    result = deliver(envelope)
    # Then the retries got through and the session exists once
    assert hook.throttled == 2
    assert result.status is ProcessStatus.CREATED
    assert len(stored_sessions()) == 1


def test_throttling_past_botocore_retries_leaves_nothing_partial_and_the_redelivery_succeeds(
    throttle: Any,
) -> None:
    # Given DynamoDB throttles every transaction for longer than botocore retries
    hook = throttle(100)
    envelope = make_envelope({"organisation_uid": "t-2", "name": "throttled"})
    queue_request(envelope)
    # When the message is processed
    with pytest.raises(TransientFailure):
        deliver(envelope)
    # Then nothing was written in part: no session, no uid claim, the outcome still queued with the reason
    assert stored_sessions() == []
    assert sessions().get_claim(42, "t-2") is None
    stored = outcome(envelope.request_id)
    assert stored["status"] == "queued"
    assert "Throttling" in stored["last_error"]
    # And when throttling stops, the redelivered message creates the session exactly once
    hook.remaining = 0
    result = deliver(envelope, receive_count=2)
    assert result.status is ProcessStatus.CREATED
    assert len(stored_sessions()) == 1
    assert outcome(envelope.request_id)["status"] == "processed"
