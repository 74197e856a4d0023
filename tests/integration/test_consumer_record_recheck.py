"""The consumer re-checks every record against the field rules: anyone with sqs:SendMessage may send one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ingestctl.local.template import CreatedResources
from session_ingest.service.process import ProcessStatus
from tests.support.consumer import T0, accept_and_deliver, make_envelope, outcome, stored_sessions


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"name": "x", "card_link_url": "javascript:alert(1)"}, "card_link_url"),
        ({"name": "x", "card_link_url": "/.//evil.com"}, "card_link_url"),
        ({"name": "x", "eventapp_background": {"background-image": "url(https://evil.example/x)"}}, None),
        ({"name": "x", "description": "a\x00b"}, "description"),
        (
            {"name": "x", "finish_time": "2026-06-14T10:00:00Z", "start_time": "2026-06-14T11:00:00Z"},
            "finish_time",
        ),
        ({"name": "x", "not_a_field": "?"}, "not_a_field"),
        ({"name": "x", "eventapp_background": "not an object"}, "eventapp_background"),
    ],
    ids=[
        "script link",
        "site path off the site",
        "css url()",
        "control character",
        "finish before start",
        "unknown field",
        "ignored value",
    ],
)
def test_a_record_the_api_would_have_refused_fails_and_stores_nothing(
    aws: CreatedResources, record: dict[str, Any], field: str | None
) -> None:
    # Given an envelope sent straight to the queue whose record breaks a field rule
    envelope = make_envelope(record)
    # When it is processed
    result = accept_and_deliver(envelope)
    # Then nothing is stored and the request fails, naming the field
    stored = outcome(envelope.request_id)
    if field is None:  # CSS is filtered, not refused: the unsafe property is dropped again
        assert result.status is ProcessStatus.CREATED
        [session] = stored_sessions()
        assert session["eventapp_background"] == {}
        return
    assert result.status is ProcessStatus.FAILED
    assert stored_sessions() == []
    assert stored["errors"][0].startswith("invalid_record:")
    assert field in stored["errors"][0]


def test_values_are_stored_as_the_field_rules_normalise_them(aws: CreatedResources) -> None:
    # Given an envelope whose record holds values in forms the API would have normalised
    envelope = make_envelope(
        {"name": "  padded  ", "active": "yes", "categories": "7|12", "resource_id": "3"}
    )
    # When it is processed / Then what is stored is their normalised form
    assert accept_and_deliver(envelope).status is ProcessStatus.CREATED
    [session] = stored_sessions()
    assert (session["name"], session["active"], session["categories"]) == ("padded", True, [7, 12])


def test_a_later_payload_cannot_flip_the_link_type_against_the_stored_url(aws: CreatedResources) -> None:
    # Given a session with an internal link to a site path
    first = make_envelope(
        {"organisation_uid": "link-1", "card_link_type": "internal", "card_link_url": "/s/1"}
    )
    assert accept_and_deliver(first).status is ProcessStatus.CREATED
    [before] = stored_sessions()
    # When a later payload makes the link external without giving an absolute URL
    later = make_envelope(
        {"organisation_uid": "link-1", "card_link_type": "external"}, accepted_at=T0 + timedelta(minutes=1)
    )
    result = accept_and_deliver(later)
    # Then the merged session is checked as a whole: the request fails and the session is unchanged
    assert result.status is ProcessStatus.FAILED
    assert "card_link_url" in outcome(later.request_id)["errors"][0]
    assert stored_sessions() == [before]
