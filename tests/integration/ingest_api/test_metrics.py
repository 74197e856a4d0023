"""RequestsAccepted and RequestsRejected (by reason) as CloudWatch EMF (contract §8)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures import reference_session_payload
from tests.support.ingest_api import ApiClient


def _emf_metrics(printed: str) -> list[dict[str, Any]]:
    """Every metric datum printed: name, value and its dimensions."""
    found = []
    for line in printed.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                dimensions = {name: blob[name] for names in directive["Dimensions"] for name in names}
                found.append(
                    {"name": metric["Name"], "value": blob[metric["Name"]], "dimensions": dimensions}
                )
    return found


def test_an_accepted_request_emits_requests_accepted(
    api: ApiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a valid payload
    # When it is accepted
    assert api.post(reference_session_payload()).status == 200
    # Then RequestsAccepted is emitted once in the SessionIngest namespace
    metrics = _emf_metrics(capsys.readouterr().out)
    assert [m for m in metrics if m["name"] == "RequestsAccepted"] == [
        {
            "name": "RequestsAccepted",
            "value": [1.0],
            "dimensions": {"service": "session-ingest", "stage": "local"},
        }
    ]


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        pytest.param({"token": None}, "authentication_error", id="401"),
        pytest.param({"body": "{"}, "malformed_json", id="400"),
        pytest.param({"body": {"session": {"start_time": "soon"}}}, "validation_error", id="422"),
        pytest.param({"content_type": "text/plain"}, "unsupported_media_type", id="415"),
    ],
)
def test_a_rejected_request_emits_requests_rejected_with_its_reason(
    api: ApiClient, capsys: pytest.CaptureFixture[str], options: dict[str, Any], reason: str
) -> None:
    # Given a request failing one check
    body = options.pop("body", reference_session_payload())
    # When it is rejected
    api.post(body, **options)
    # Then RequestsRejected is emitted with the reason as a dimension, and nothing is counted accepted
    metrics = _emf_metrics(capsys.readouterr().out)
    assert [m for m in metrics if m["name"] == "RequestsRejected"] == [
        {
            "name": "RequestsRejected",
            "value": [1.0],
            "dimensions": {"service": "session-ingest", "stage": "local", "reason": reason},
        }
    ]
    assert not [m for m in metrics if m["name"] == "RequestsAccepted"]


def test_an_idempotent_replay_emits_requests_replayed(
    api: ApiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a request accepted with an Idempotency-Key
    api.post(reference_session_payload(), idempotency_key="k-1")
    capsys.readouterr()
    # When it is repeated
    assert api.post(reference_session_payload(), idempotency_key="k-1").status == 200
    # Then the repeat counts as a replay, not as a new acceptance
    names = [m["name"] for m in _emf_metrics(capsys.readouterr().out)]
    assert names == ["RequestsReplayed"]
