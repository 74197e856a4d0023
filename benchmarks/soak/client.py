"""The soak's integrator: posts over HTTP and retries like a good client, with an Idempotency-Key.

Retried (same body, same key, so a retry can never be queued twice): connection errors and timeouts,
every 5xx (contract §4: the request was not queued, retry), 429 (after Retry-After) and 409
`idempotency_in_progress` (the first attempt with this key is still in flight). Anything else is final.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from benchmarks.soak.workload import PlannedRequest

# A request is retried for this long: past IDEMPOTENCY_IN_FLIGHT_SECONDS, so a key whose first attempt died
# in flight is released to a retry.
RETRY_BUDGET_SECONDS = 90.0
BACKOFF_BASE_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 8.0
HTTP_TIMEOUT_SECONDS = 60.0


@dataclass
class Submission:
    """What happened to one planned request: every attempt's status (None: no answer) and the result."""

    planned: PlannedRequest
    statuses: list[int | None] = field(default_factory=list)
    request_id: str | None = None
    replay_request_id: str | None = None  # the answer to the resubmission after a 200, if planned
    answered_at: float | None = None  # monotonic time of the final answer

    @property
    def final_status(self) -> int | None:
        return self.statuses[-1] if self.statuses else None

    @property
    def accepted(self) -> bool:
        return self.final_status == 200 and self.request_id is not None

    @property
    def retries(self) -> int:
        return max(len(self.statuses) - 1, 0)


@dataclass(frozen=True)
class Answer:
    status: int | None
    body: Any
    retry_after: float | None


def retryable(answer: Answer) -> bool:
    if answer.status is None or answer.status >= 500 or answer.status == 429:
        return True
    return (
        answer.status == 409
        and isinstance(answer.body, dict)
        and (answer.body.get("error_type") == "idempotency_in_progress")
    )


class Integrator:
    """Posts to the soak's endpoints; one instance is shared by all client threads."""

    def __init__(self, api_url: str, tokens: dict[int, tuple[str, str]], seed: int = 0) -> None:
        self._api_url = api_url
        self._tokens = tokens  # endpoint index -> (endpoint id, token)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def _post(self, planned: PlannedRequest) -> Answer:
        endpoint_id, token = self._tokens[planned.endpoint.index]
        request = urllib.request.Request(
            f"{self._api_url}/api/webhook/ingest/{endpoint_id}",
            data=json.dumps(planned.payload).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Idempotency-Key": planned.idempotency_key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
                return Answer(response.status, json.loads(response.read()), None)
        except urllib.error.HTTPError as error:
            retry_after = error.headers.get("Retry-After")
            try:
                body = json.loads(error.read())
            except ValueError:
                body = None
            return Answer(error.code, body, float(retry_after) if retry_after else None)
        except (urllib.error.URLError, OSError):  # refused, reset, timed out: no answer
            return Answer(None, None, None)

    def _pause(self, attempt: int, answer: Answer) -> None:
        """Retry-After when given (capped), else exponential backoff with full jitter."""
        if answer.retry_after is not None:
            delay = min(answer.retry_after, MAX_BACKOFF_SECONDS)
        else:
            with self._lock:
                delay = self._rng.uniform(0, min(MAX_BACKOFF_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))
        time.sleep(delay)

    def _send(self, planned: PlannedRequest, statuses: list[int | None]) -> Answer:
        """Post until a final answer or until the retry budget is spent; every status goes to `statuses`."""
        give_up_at = time.monotonic() + RETRY_BUDGET_SECONDS
        attempt = 0
        while True:
            answer = self._post(planned)
            statuses.append(answer.status)
            if not retryable(answer) or time.monotonic() >= give_up_at:
                return answer
            attempt += 1
            self._pause(attempt, answer)

    def submit(self, planned: PlannedRequest) -> Submission:
        """Send (with retries); after a 200, send it again if the plan says so (a double submit)."""
        submission = Submission(planned)
        answer = self._send(planned, submission.statuses)
        submission.answered_at = time.monotonic()
        if answer.status == 200 and isinstance(answer.body, dict):
            submission.request_id = str(answer.body.get("request_id"))
            if planned.resubmit:
                replay = self._send(planned, [])
                ok = replay.status == 200 and isinstance(replay.body, dict)
                submission.replay_request_id = (
                    str(replay.body.get("request_id")) if ok else f"status {replay.status}"
                )
        return submission


def submit_all(
    integrator: Integrator, planned: Iterable[PlannedRequest], clients: int, deadline: float | None
) -> list[Submission]:
    """Every planned request through `clients` concurrent threads; none started after `deadline`."""
    submissions: list[Submission] = []
    lock = threading.Lock()

    def work(request: PlannedRequest) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            return
        submission = integrator.submit(request)
        with lock:
            submissions.append(submission)

    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="soak-client") as pool:
        for future in [pool.submit(work, request) for request in planned]:
            future.result()
    return submissions
