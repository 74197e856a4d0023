"""An in-memory stand-in for the batch ingest API (contract §4b), as a `push_client.Transport`.

It keeps the contract's promises in miniature: fixed one-minute rate windows on a fake clock, one
rate-limit unit per batch, results per item, Idempotency-Key replay of the first results, and an SQS
that can be told to take only part of a batch (503 with `retry` items; a retry with the same key
queues only what is not queued yet). What it queued is kept, so tests can count copies.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ingestctl.push_client import HttpReply, NetworkError

GOOD_TOKEN = "sit_good_token"
ENDPOINT_ID = "3f6c2f3e-8d2b-4c1e-9a47-1f2e3d4c5b6a"
API_URL = "https://api.example.test/dev"
BATCH_URL = f"{API_URL}/api/webhook/ingest/{ENDPOINT_ID}/batch"


@dataclass
class FakeClock:
    now: float = 1_000_040.0  # 20 s into a minute
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


@dataclass
class Call:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None

    @property
    def items(self) -> list[Any]:
        assert self.body is not None
        items: list[Any] = json.loads(self.body)["items"]
        return items


Fault = HttpReply | NetworkError


@dataclass
class FakeBatchApi:
    clock: FakeClock
    rate_limit_per_minute: int = 120
    calls: list[Call] = field(default_factory=list)
    # Replies given instead of the real answer, one per POST, before the service behaves normally.
    faults: list[Fault] = field(default_factory=list)
    # How many items SQS takes per send (None: all of them); consumed one entry per POST.
    sqs_capacity: list[int] = field(default_factory=list)
    queued: list[tuple[str, Any]] = field(default_factory=list)  # (request_id, payload), in queue order
    # The outcome status a request has on each GET, by request id (default: processed on the first GET).
    outcome: Callable[[str, int], dict[str, Any]] | None = None
    _results_by_key: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _used: dict[int, int] = field(default_factory=dict)
    _gets: dict[str, int] = field(default_factory=dict)

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> HttpReply:
        self.calls.append(Call(method, url, dict(headers), body))
        if headers.get("Authorization") != f"Bearer {GOOD_TOKEN}":
            return self._reply(401, {"success": False, "error_type": "authentication_error"})
        if method == "GET":
            return self._outcome(url.rsplit("/", 1)[1])
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, NetworkError):
                raise fault
            return fault
        return self._batch(headers["Idempotency-Key"], json.loads(body or b"{}"))

    # ------------------------------------------------------------------------------------ posts

    @property
    def posts(self) -> list[Call]:
        return [call for call in self.calls if call.method == "POST"]

    def _window(self) -> tuple[int, int]:
        minute = int(self.clock.now // 60)
        return minute, 60 - int(self.clock.now % 60)

    def _batch(self, key: str, document: dict[str, Any]) -> HttpReply:
        minute, reset = self._window()
        used = self._used.get(minute, 0)
        if used >= self.rate_limit_per_minute:
            headers = {"retry-after": str(reset), **self._rate_headers(0, reset)}
            return self._reply(429, {"success": False, "error_type": "rate_limited"}, headers)
        self._used[minute] = used + 1
        rate = self._rate_headers(self.rate_limit_per_minute - used - 1, reset)
        results = self._results_by_key.setdefault(
            key, [self._verdict(i, p) for i, p in enumerate(document["items"])]
        )
        capacity = self.sqs_capacity.pop(0) if self.sqs_capacity else len(results)
        for result in results:
            if result["status"] == "retry" and capacity > 0:
                capacity -= 1
                result.update(status="queued", request_id=str(uuid.uuid4()))
                self.queued.append((result["request_id"], document["items"][result["index"]]))
            elif result["status"] == "retry":
                pass
        statuses = {result["status"] for result in results}
        body = {"success": statuses == {"queued"}, "results": [dict(r) for r in results]}
        if "retry" in statuses:
            return self._reply(503, body, {"retry-after": "2", **rate})
        status = 200 if statuses == {"queued"} else 207 if "queued" in statuses else 422
        return self._reply(status, body, rate)

    @staticmethod
    def _verdict(index: int, payload: Any) -> dict[str, Any]:
        """Valid when the payload carries a session object; every valid item starts as not yet queued."""
        if isinstance(payload, dict) and isinstance(payload.get("session"), dict):
            return {"index": index, "status": "retry"}
        details = [{"field": "session", "message": "A session object is required"}]
        return {"index": index, "status": "invalid", "error_type": "validation_error", "details": details}

    @staticmethod
    def _rate_headers(remaining: int, reset: int) -> dict[str, str]:
        return {
            "ratelimit-limit": "120",
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
        }

    # ------------------------------------------------------------------------------------- gets

    def _outcome(self, request_id: str) -> HttpReply:
        if request_id not in {queued_id for queued_id, _ in self.queued}:
            return self._reply(404, {"success": False, "error_type": "not_found"})
        self._gets[request_id] = self._gets.get(request_id, 0) + 1
        decided = (self.outcome or _processed_at_once)(request_id, self._gets[request_id])
        return self._reply(200, {"request_id": request_id, "warnings": [], "errors": [], **decided})

    @staticmethod
    def _reply(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> HttpReply:
        return HttpReply(
            status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode()
        )


def _processed_at_once(request_id: str, gets: int) -> dict[str, Any]:
    return {"status": "processed", "action": "created"}


def session(n: int, **fields: Any) -> dict[str, Any]:
    return {"session": {"organisation_uid": f"ext-{n}", "name": f"Session {n}", **fields}}
