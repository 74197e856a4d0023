"""The cold-start baseline: a minimal boto3-only Lambda handler making the same AWS calls as a real one.

bench_cold_start records the calls a real function makes for one event and hands them over in
BASELINE_CALLS; this handler replays them with plain boto3 clients and nothing else (no Powertools,
no pydantic, no layer). A replayed conditional write may now fail its condition: that is still the
same request and response round trip, so the error is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import boto3
from botocore import xform_name
from botocore.exceptions import ClientError


def replay_recorded_calls() -> None:
    """Make BASELINE_CALLS' calls in order, one plain client per service (the library floors reuse this)."""
    clients: dict[str, Any] = {}
    for service, operation, params in json.loads(os.environ["BASELINE_CALLS"]):
        aws = clients.get(service) or clients.setdefault(service, boto3.client(service))
        with contextlib.suppress(ClientError):
            getattr(aws, xform_name(operation))(**params)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    replay_recorded_calls()
    return {"statusCode": 200}
