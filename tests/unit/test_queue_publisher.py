"""The queue adapter speaks QueueUnavailable, never botocore's errors (service/ports.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import NoRegionError

from session_ingest.adapters import queue_publisher
from session_ingest.adapters.queue_publisher import QueueUnavailable, send_envelope, send_envelope_batch
from tests.support.consumer import make_envelope


def _no_client(_: str) -> object:
    raise NoRegionError


@pytest.mark.parametrize(
    "send",
    [lambda envelope: send_envelope(envelope), lambda envelope: send_envelope_batch([envelope])],
    ids=["single", "batch"],
)
def test_a_queue_client_that_cannot_be_made_is_queue_unavailable(
    monkeypatch: pytest.MonkeyPatch, send: Callable[[object], object]
) -> None:
    # Given no SQS client can be made (no region)
    monkeypatch.setattr(queue_publisher, "client", _no_client)
    # When an envelope is sent, alone or in a batch  # Then the port's own error, naming botocore's
    with pytest.raises(QueueUnavailable, match="NoRegionError"):
        send(make_envelope({"name": "Opening keynote"}))
