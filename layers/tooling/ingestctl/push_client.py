"""The integrator's client of batch ingest (contract §4b, §9 `push`): batches, keys, pacing, outcomes.

Everything here is decided from what the API answers; nothing else is assumed about the service. HTTP
goes through an injected `Transport` (`urllib_transport` by default), time through an injected `sleep`
and `clock`, so every path (rate limits, 503 part-way through a batch, network errors) is driven in tests
without a network and without real waiting.

Each batch's body is canonical JSON and its Idempotency-Key is derived from that body, so a retry (in
this run or in a later one, within the service's 24 h) is the same request: what was queued once is
never queued twice, and a batch the service queued only partly is completed by the retry.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from session_ingest import limits
from session_ingest.domain.json_body import parse_json_body
from session_ingest.errors import MalformedJson

USER_AGENT = "ingestctl-push/1"
KEY_PREFIX = "push-v1-"
BATCH_ENVELOPE_BYTES = len(b'{"items":[]}')
# An item inside {"items": [...]} sits two levels deeper than the same payload sent alone.
ARRAY_INPUT_MAX_DEPTH = limits.MAX_JSON_DEPTH + 1
HTTP_TIMEOUT_SECONDS = 30.0


class BadInput(ValueError):
    """The input is not a JSON array or NDJSON of payloads: nothing is sent (exit 2)."""


class AccessRefused(Exception):
    """401 or 404: the token or the endpoint is wrong; retrying cannot help (exit 3)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class NetworkError(Exception):
    """The request got no HTTP answer (refused, reset, timed out)."""


# ------------------------------------------------------------------------------------------- input


def parse_payloads(data: bytes) -> list[Any]:
    """The payloads of a JSON array or an NDJSON document (one payload a line; blank lines skipped).

    Parsed as strictly as the service parses a body (duplicate keys, NaN, depth), so a payload the
    service would refuse as malformed is refused here, naming its line, before anything is sent.
    """
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise BadInput(f"the input is not UTF-8 (byte {error.start})") from None
    if text.lstrip().startswith("["):
        return _json_array(text)
    payloads = [
        _ndjson_line(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()
    ]
    if not payloads:
        raise BadInput("the input holds no payloads")
    return payloads


def _json_array(text: str) -> list[Any]:
    try:
        value = parse_json_body(text, max_depth=ARRAY_INPUT_MAX_DEPTH)
    except MalformedJson as error:
        raise BadInput(f"invalid JSON array: {error.reason}") from None
    if not isinstance(value, list):
        raise BadInput("the input starts with '[' but is not one JSON array")
    if not value:
        raise BadInput("the input holds no payloads")
    return value


def _ndjson_line(number: int, line: str) -> Any:
    try:
        return parse_json_body(line, max_depth=limits.MAX_JSON_DEPTH)
    except MalformedJson as error:
        raise BadInput(f"line {number}: {error.reason}") from None


# ----------------------------------------------------------------------------------------- batches


@dataclass(frozen=True)
class Batch:
    """Consecutive payloads sent as one request; `first_index` is the first one's index in the input."""

    first_index: int
    size: int
    body: bytes
    idempotency_key: str


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def idempotency_key(body: bytes, scope: str = "") -> str:
    """Derived from the batch's content (and an optional scope), so a retry is recognised as one."""
    digest = hashlib.sha256(scope.encode("utf-8") + b"\n" + body).hexdigest()
    return KEY_PREFIX + digest


def make_batches(
    payloads: Sequence[Any],
    batch_size: int = limits.MAX_BATCH_ITEMS,
    max_body_bytes: int = limits.MAX_BATCH_BODY_BYTES,
    key_scope: str = "",
) -> list[Batch]:
    """Consecutive batches of at most `batch_size` payloads, each body within `max_body_bytes`.

    A payload too large to share a body is sent alone (the service then reports it, by its index).
    """
    batches: list[Batch] = []
    encoded: list[bytes] = []
    first_index = 0

    def close() -> None:
        body = b'{"items":[' + b",".join(encoded) + b"]}"
        batches.append(Batch(first_index, len(encoded), body, idempotency_key(body, key_scope)))

    for index, payload in enumerate(payloads):
        item = canonical_json(payload)
        body_bytes = BATCH_ENVELOPE_BYTES + sum(len(e) + 1 for e in encoded) + len(item)
        if encoded and (len(encoded) >= batch_size or body_bytes > max_body_bytes):
            close()
            encoded, first_index = [], index
        encoded.append(item)
    if encoded:
        close()
    return batches


# --------------------------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def document(self) -> dict[str, Any]:
        """The JSON object of the body, or {} when there is none (a gateway's HTML, an empty body)."""
        try:
            value = json.loads(self.body)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


# (method, url, headers, body) -> reply; raises NetworkError when no HTTP answer came.
Transport = Callable[[str, str, Mapping[str, str], bytes | None], HttpReply]


def urllib_transport(timeout_seconds: float = HTTP_TIMEOUT_SECONDS) -> Transport:
    """HTTP(S) through the standard library: every status is a reply, only a missing answer raises."""

    def send(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> HttpReply:
        request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout_seconds) as response:  # noqa: S310
                return HttpReply(response.status, _lower(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return HttpReply(error.code, _lower(error.headers.items()), error.read())
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            raise NetworkError(str(getattr(error, "reason", error))) from error

    return send


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def require_http_url(url: str) -> str:
    """The API's base URL without a trailing slash; only http(s) URLs with a host are accepted."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise BadInput(f"--api-url must be an http(s) URL, not {url!r}")
    return url.rstrip("/")


# ------------------------------------------------------------------------------------------ results


class ItemStatus(StrEnum):
    QUEUED = "queued"  # in the queue, outcome not followed (or not known yet)
    INVALID = "invalid"  # refused by validation; nothing queued for it
    NOT_QUEUED = "not_queued"  # the service could not take it (gave up retrying, or stopped early)
    PROCESSED = "processed"
    FAILED = "failed"  # queued, then failed in processing
    PENDING = "pending"  # queued, still not processed when --wait timed out


@dataclass
class ItemReport:
    index: int
    status: ItemStatus = ItemStatus.NOT_QUEUED
    request_id: str | None = None
    action: str | None = None
    details: list[Any] | None = None
    errors: list[str] = field(default_factory=list)

    def problem(self) -> dict[str, Any] | None:
        """The summary's `problems` entry, or None for an item that went through."""
        if self.status in (ItemStatus.QUEUED, ItemStatus.PROCESSED):
            return None
        entry: dict[str, Any] = {"index": self.index, "request_id": self.request_id, "status": self.status}
        if self.status is ItemStatus.INVALID:
            entry["details"] = self.details or []
        else:
            entry["errors"] = self.errors
        return entry


@dataclass
class PushOutcome:
    reports: list[ItemReport]
    waited: bool = False
    refused: AccessRefused | None = None
    stopped: str | None = None  # why sending stopped before every batch was taken

    def summary(self) -> dict[str, Any]:
        def count(*statuses: ItemStatus) -> int:
            return sum(report.status in statuses for report in self.reports)

        queued_once = (ItemStatus.QUEUED, ItemStatus.PROCESSED, ItemStatus.FAILED, ItemStatus.PENDING)
        return {
            "items": len(self.reports),
            "queued": count(*queued_once),
            "invalid": count(ItemStatus.INVALID),
            "processed": count(ItemStatus.PROCESSED),
            # Items that did not make it: failed in processing, or never taken by the service.
            "failed": count(ItemStatus.FAILED, ItemStatus.NOT_QUEUED),
            "created": sum(r.status is ItemStatus.PROCESSED and r.action == "created" for r in self.reports),
            "updated": sum(r.status is ItemStatus.PROCESSED and r.action == "updated" for r in self.reports),
            "pending": count(ItemStatus.PENDING),
            "problems": [p for p in (report.problem() for report in self.reports) if p is not None],
        }

    @property
    def complete(self) -> bool:
        """Every item queued (and, when followed, processed)."""
        done = ItemStatus.PROCESSED if self.waited else ItemStatus.QUEUED
        return self.refused is None and all(report.status is done for report in self.reports)


# ------------------------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep at a batch. Waits the service asks for (Retry-After) are honoured up to a cap."""

    max_attempts: int = 6  # per batch, for 5xx and network errors (jittered exponential backoff)
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 8.0
    max_waits: int = 30  # per batch, for 429 / 503 / 409 with Retry-After
    max_retry_after_seconds: float = 300.0
    poll_interval_seconds: float = 0.5
    max_poll_interval_seconds: float = 2.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + rng.random() / 2)


def retry_after_seconds(reply: HttpReply, default: float, now: float) -> float:
    """Retry-After as delta-seconds or an HTTP date; `default` when absent or unreadable."""
    value = reply.header("Retry-After")
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return default


def _int_header(reply: HttpReply, name: str) -> int | None:
    value = reply.header(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


ProgressCallback = Callable[[str, int, int], None]  # (phase, done, total)


def _no_progress(phase: str, done: int, total: int) -> None:
    """Progress is only shown on a terminal; this is the silent default."""


# ------------------------------------------------------------------------------------------- client


class PushClient:
    """Sends batches to one endpoint and follows their requests to their outcomes."""

    def __init__(
        self,
        api_url: str,
        endpoint_id: str,
        token: str,
        *,
        transport: Transport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        progress: ProgressCallback = _no_progress,
    ) -> None:
        self._endpoint_url = (
            f"{require_http_url(api_url)}/api/webhook/ingest/{urllib.parse.quote(endpoint_id)}"
        )
        self._token = token
        self._transport = transport or urllib_transport()
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()  # jitter, not a secret
        self._progress = progress
        self._paused_until = 0.0  # set when RateLimit-Remaining reached 0

    # ----------------------------------------------------------------------------------- sending

    def push(
        self, batches: Sequence[Batch], *, wait: bool = False, timeout_seconds: float = 60.0
    ) -> PushOutcome:
        total = sum(batch.size for batch in batches)
        # Reports carry each item's index in the input (batches need not start at 0 or be contiguous).
        reports = [
            ItemReport(batch.first_index + offset) for batch in batches for offset in range(batch.size)
        ]
        outcome = PushOutcome(reports, waited=wait)
        sent = 0
        self._progress("send", 0, total)
        for batch in batches:
            try:
                self._send_batch(batch, reports[sent : sent + batch.size])
            except AccessRefused as refused:
                outcome.refused = refused
                self._mark_not_queued(reports, str(refused))
                return outcome
            except _GaveUp as gave_up:
                outcome.stopped = str(gave_up)
                self._mark_not_queued(reports, str(gave_up))
                return outcome
            sent += batch.size
            self._progress("send", sent, total)
        if wait:
            try:
                self._follow(reports, timeout_seconds)
            except AccessRefused as refused:
                outcome.refused = refused
        return outcome

    @staticmethod
    def _mark_not_queued(reports: Iterable[ItemReport], reason: str) -> None:
        for report in reports:
            if report.status is ItemStatus.NOT_QUEUED and not report.errors:
                report.errors = [f"not queued: {reason}"]

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if idempotency_key is not None:
            headers["Content-Type"] = "application/json"
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _send_batch(self, batch: Batch, reports: list[ItemReport]) -> None:
        """Send until every item has a final verdict; 503 / 429 / 5xx / network errors are retried."""
        failures = waits = 0
        while True:
            self._respect_pause()
            try:
                reply = self._transport(
                    "POST", f"{self._endpoint_url}/batch", self._headers(batch.idempotency_key), batch.body
                )
            except NetworkError as error:
                failures += 1
                self._back_off(failures, f"network error: {error}")
                continue
            self._note_rate_limit(reply)
            document = reply.document()
            if reply.status in (200, 207, 422) and isinstance(document.get("results"), list):
                self._apply_results(document["results"], reports)
                return
            if reply.status in (401, 404):
                raise AccessRefused(reply.status, _refusal_message(reply.status))
            if reply.status == 503 and isinstance(document.get("results"), list):
                self._apply_results(document["results"], reports)  # what was taken is queued already
            if reply.status in (409, 429, 503):
                waits += 1
                if waits > self._policy.max_waits:
                    raise _GaveUp(f"the service still answered {reply.status} after {waits - 1} waits")
                self._sleep(
                    min(
                        self._policy.max_retry_after_seconds,
                        retry_after_seconds(reply, 1.0, self._wall_clock()),
                    )
                )
                continue
            if reply.status >= 500:
                failures += 1
                self._back_off(failures, f"HTTP {reply.status}")
                continue
            self._refuse_batch(reply, document, reports)
            return

    def _back_off(self, failures: int, reason: str) -> None:
        if failures >= self._policy.max_attempts:
            raise _GaveUp(f"{reason} (gave up after {failures} attempts)")
        self._sleep(self._policy.backoff(failures, self._rng))

    def _note_rate_limit(self, reply: HttpReply) -> None:
        """Pace by RateLimit-*: with nothing left in the window, hold the next request until it resets."""
        remaining = _int_header(reply, "RateLimit-Remaining")
        reset = _int_header(reply, "RateLimit-Reset")
        if remaining is not None and remaining <= 0 and reset is not None:
            self._paused_until = self._clock() + min(reset, self._policy.max_retry_after_seconds)

    def _respect_pause(self) -> None:
        delay = self._paused_until - self._clock()
        if delay > 0:
            self._sleep(delay)
        self._paused_until = 0.0

    @staticmethod
    def _apply_results(results: list[Any], reports: list[ItemReport]) -> None:
        for result in results:
            if not isinstance(result, dict) or not isinstance(result.get("index"), int):
                continue
            if not 0 <= result["index"] < len(reports):
                continue
            report = reports[result["index"]]
            status = result.get("status")
            if status == "queued":
                report.status, report.request_id = ItemStatus.QUEUED, result.get("request_id")
            elif status == "invalid":
                report.status, report.details = ItemStatus.INVALID, result.get("details") or []
            else:  # "retry": the service will take it on the next attempt with the same key
                report.status = ItemStatus.NOT_QUEUED

    @staticmethod
    def _refuse_batch(reply: HttpReply, document: dict[str, Any], reports: list[ItemReport]) -> None:
        """A 4xx for the whole batch (too large, malformed, key conflict): every item is reported with it."""
        error_type = document.get("error_type") or f"http_{reply.status}"
        message = document.get("errors") or document.get("message") or f"HTTP {reply.status}"
        for report in reports:
            report.status = ItemStatus.INVALID
            report.details = [{"field": "$", "message": f"{error_type}: {message}"}]

    # --------------------------------------------------------------------------------- following

    def _follow(self, reports: list[ItemReport], timeout_seconds: float) -> None:
        """Poll each queued request until it is processed or failed, or the timeout passes."""
        deadline = self._clock() + timeout_seconds
        waiting = [report for report in reports if report.status is ItemStatus.QUEUED]
        total, interval = len(waiting), self._policy.poll_interval_seconds
        self._progress("wait", 0, total)
        while waiting:
            waiting = [report for report in waiting if not self._settle(report)]
            self._progress("wait", total - len(waiting), total)
            if not waiting or self._clock() >= deadline:
                break
            self._sleep(min(interval, max(0.0, deadline - self._clock())))
            interval = min(self._policy.max_poll_interval_seconds, interval * 1.5)
        for report in waiting:
            report.status = ItemStatus.PENDING
            report.errors = [f"still queued after {timeout_seconds:g} s"]

    def _settle(self, report: ItemReport) -> bool:
        """Read one request's outcome; True once it is final. Transient errors are read again later."""
        assert report.request_id is not None
        try:
            reply = self._transport(
                "GET", f"{self._endpoint_url}/requests/{report.request_id}", self._headers(), None
            )
        except NetworkError:
            return False
        if reply.status in (401, 404):
            raise AccessRefused(reply.status, _refusal_message(reply.status))
        if reply.status != 200:
            return False
        document = reply.document()
        if document.get("status") == "processed":
            report.status, report.action = ItemStatus.PROCESSED, document.get("action")
            return True
        if document.get("status") == "failed":
            report.status, report.errors = ItemStatus.FAILED, [str(e) for e in document.get("errors") or []]
            return True
        return False


class _GaveUp(Exception):
    """A batch kept failing past the retry policy: sending stops (the rest is reported not queued)."""


def _refusal_message(status: int) -> str:
    if status == 401:
        return (
            "the token was refused (401): check INGEST_TOKEN or --token-file, "
            "and that the token belongs to --endpoint-id"
        )
    return "no such endpoint, or it is disabled (404): check --endpoint-id and --api-url"
