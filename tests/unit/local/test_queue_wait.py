"""`ingestctl queue wait`: drained means visible + in flight + delayed read zero, stably."""

from __future__ import annotations

from typing import Any

from ingestctl.commands.queue import wait_until_drained


class _Queue:
    """Answers GetQueueAttributes from a script of (visible, in flight) readings, then the last one."""

    def __init__(self, readings: list[tuple[int, int]]) -> None:
        self.readings = readings
        self.calls = 0

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        visible, in_flight = self.readings[min(self.calls, len(self.readings) - 1)]
        self.calls += 1
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(in_flight),
                "ApproximateNumberOfMessagesDelayed": "0",
            }
        }


def test_a_queue_with_messages_in_flight_is_not_drained_until_they_are_gone() -> None:
    # Given a queue whose last message is in flight, then deleted
    queue = _Queue([(1, 0), (0, 1), (0, 0)])
    # When waiting for it to drain
    drained, depth = wait_until_drained(queue, "url", timeout_seconds=5, stable_seconds=0)
    # Then it is drained only once nothing is visible or in flight
    assert drained is True
    assert depth.empty
    assert queue.calls == 3


def test_a_queue_that_never_drains_times_out_with_its_depth() -> None:
    # Given a queue that keeps one message in flight
    queue = _Queue([(0, 1)])
    # When waiting with no time to spare
    drained, depth = wait_until_drained(queue, "url", timeout_seconds=0, stable_seconds=0)
    # Then it reports not drained, with what is left
    assert drained is False
    assert (depth.visible, depth.in_flight) == (0, 1)
