"""Endpoints on the running local stack for the fuzz and security tests, and calls to them over HTTP."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from ingestctl.admin.endpoints import create_endpoint
from ingestctl.local.launcher import LocalStackProcess, service_pointed_at
from tests.e2e.conftest import HttpAnswer, http
from tests.support.openapi_contract import DRY_RUN, INGEST, LISTING, OUTCOME

# Events of their own, away from the ones test_local_stack.py uses (100-9999).
_event_ids = itertools.count(20_000)


@dataclass(frozen=True)
class StackEndpoint:
    """An endpoint of the running stack, its token, and the three calls of the API."""

    api_url: str
    endpoint_id: str
    token: str
    event_id: int

    @property
    def url(self) -> str:
        return f"{self.api_url}/api/webhook/ingest/{self.endpoint_id}"

    def url_for(self, operation: tuple[str, str], request_id: str = "") -> str:
        if operation == INGEST:
            return self.url
        if operation == DRY_RUN:
            return f"{self.url}/test"
        if operation == LISTING:
            return f"{self.url}/requests"
        assert operation == OUTCOME
        return f"{self.url}/requests/{request_id}"

    def send(
        self,
        operation: tuple[str, str],
        body: bytes | None = None,
        *,
        token: str | None = None,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
        request_id: str = "",
    ) -> HttpAnswer:
        """One call; `token=""` sends no Authorization header at all."""
        sent = dict(headers or {})
        bearer = self.token if token is None else token
        if bearer:
            sent["Authorization"] = f"Bearer {bearer}"
        if content_type is not None and operation not in (OUTCOME, LISTING):
            sent["Content-Type"] = content_type
        method = operation[0].upper()
        return http(method, self.url_for(operation, request_id), body=body, headers=sent)

    def post(self, payload: Any, operation: tuple[str, str] = INGEST, **kwargs: Any) -> HttpAnswer:
        return self.send(operation, json.dumps(payload).encode(), **kwargs)


def create_stack_endpoint(
    stack: LocalStackProcess, organisation: str = "acme", rate_limit: int | None = None
) -> StackEndpoint:
    """A new enabled session endpoint on an event of its own, created as an operator would."""
    event_id = next(_event_ids)
    with service_pointed_at(stack):
        created = create_endpoint(organisation, event_id, rate_limit_per_minute=rate_limit)
    return StackEndpoint(stack.ready["api_url"], created["endpoint_id"], created["token"], event_id)


def headers_of(answer: HttpAnswer) -> dict[str, str]:
    """One value per header (the last), as a client reads them."""
    return {name: values[-1] for name, values in answer.headers.items()}
