"""The demo endpoint `local up` creates, and the ready-to-paste instructions it prints."""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

from ingestctl.local.template import CreatedResources
from session_ingest.adapters.aws import reset_clients
from session_ingest.settings import get_settings

DEMO_ORGANISATION = "demo"
DEMO_EVENT_ID = 1

# The contract's reference example, for the demo organisation (its ids name `acme`, another organisation).
DEMO_PAYLOAD: dict[str, Any] = {
    "session": {
        "organisation_uid": "ext-session-42",
        "name": "Introduction to Cloud Architecture",
        "description": "An introductory session covering core cloud architecture patterns.",
        "start_time": "2026-06-15T09:00:00+10:00",
        "finish_time": "2026-06-15T10:00:00+10:00",
        "active": True,
        "restricted": False,
        "skill_level": "100",
        "categories": [7, 12],
        "card_link_type": "external",
        "card_link_url": "https://example.com/session-details",
        "card_link_label": "View details",
    }
}


def use_stack(aws_environment: dict[str, str], created: CreatedResources) -> None:
    """Point this process's service code (settings, cached clients) at the local stack."""
    os.environ.update(aws_environment)
    os.environ.update(created.environment())
    reset_clients()
    get_settings.cache_clear()


def create_demo_endpoint() -> dict[str, str]:
    """An endpoint of organisation `demo` for event 1, and a token for it (the service's own use case)."""
    from ingestctl.admin.endpoints import create_endpoint  # after use_stack: settings read then

    created: Any = create_endpoint(DEMO_ORGANISATION, DEMO_EVENT_ID)
    values = created if isinstance(created, dict) else created.model_dump()
    return {"endpoint_id": str(values["endpoint_id"]), "token": str(values["token"])}


def instructions(api_url: str, endpoint: dict[str, str], aws_environment: dict[str, str]) -> str:
    """Plain text after the JSON line: a curl call, and how to point ingestctl at the stack."""
    url = f"{api_url}/api/webhook/ingest/{endpoint['endpoint_id']}"
    exports = " ".join(
        f"{name}={shlex.quote(aws_environment[name])}"
        for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    )
    return "\n".join(
        [
            "",
            "Send the demo session:",
            f"  curl -sS -X POST {url} \\",
            f"    -H 'Authorization: Bearer {endpoint['token']}' \\",
            "    -H 'Content-Type: application/json' -H 'Accept: application/json' \\",
            f"    -d {shlex.quote(json.dumps(DEMO_PAYLOAD))}",
            "",
            "Then, in another shell:",
            f"  export {exports}",
            "  ingestctl requests get <request_id>      # from the curl answer",
            f"  ingestctl sessions list --event-id {DEMO_EVENT_ID}",
            "",
            f"API reference: {api_url}/swagger (OpenAPI document: {api_url}/openapi.json)",
            "",
            "Press Ctrl-C to stop.",
        ]
    )
