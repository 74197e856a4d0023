"""`ingestctl sessions list|get` and `ingestctl location create|list` against moto."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from ingestctl.cli import app
from ingestctl.local.template import CreatedResources
from tests.support.consumer import EVENT_ID, accept_and_deliver, at, make_envelope

runner = CliRunner()


def _ingestctl(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_location_create_prints_the_new_location(aws: CreatedResources) -> None:
    # When two locations are created
    first = _ingestctl("location", "create", "--org", "acme", "--event-id", "42", "--name", "Hall A")
    second = _ingestctl("location", "create", "--org", "acme", "--event-id", "42", "--name", "Hall B")
    # Then each gets the organisation's next number and resource id
    assert {key: first[key] for key in ("resource_id", "id", "name", "event_id")} == {
        "resource_id": "acme/location/1",
        "id": 1,
        "name": "Hall A",
        "event_id": 42,
    }
    assert second["resource_id"] == "acme/location/2"
    assert [loc["name"] for loc in _ingestctl("location", "list", "--event-id", "42")["locations"]] == [
        "Hall A",
        "Hall B",
    ]


def test_a_created_location_can_be_referenced_by_sessions(aws: CreatedResources) -> None:
    # Given a location created with the CLI
    location = _ingestctl(
        "location", "create", "--org", "acme", "--event-id", str(EVENT_ID), "--name", "Hall A"
    )
    # When a session references it by plain id
    accept_and_deliver(make_envelope({"name": "s", "location_resource_id": str(location["id"])}))
    # Then the session stores its resource id
    (session,) = _ingestctl("sessions", "list", "--event-id", str(EVENT_ID))["sessions"]
    assert session["location_resource_id"] == location["resource_id"]


def test_sessions_list_prints_the_events_sessions(aws: CreatedResources) -> None:
    # Given two sessions in event 42 and one elsewhere
    accept_and_deliver(make_envelope({"name": "a"}))
    accept_and_deliver(make_envelope({"name": "b"}))
    accept_and_deliver(make_envelope({"name": "other"}, event_id=7))
    # When the operator lists event 42
    listed = _ingestctl("sessions", "list", "--event-id", "42")
    # Then only its sessions are printed, without storage keys
    assert listed["count"] == 2
    assert [session["name"] for session in listed["sessions"]] == ["a", "b"]
    assert all("pk" not in session for session in listed["sessions"])


def test_sessions_get_prints_one_session_with_field_accept_times(aws: CreatedResources) -> None:
    # Given a session updated once
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "first"}))
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "second"}, accepted_at=at(5)))
    # When the operator gets it by resource id
    session = _ingestctl("sessions", "get", "acme/session/1")
    # Then the stored values and who set each field are shown
    assert (session["name"], session["version"]) == ("second", 2)
    assert session["field_accepted_at"]["name"] == "2026-06-14T23:00:05.000000Z"


def test_sessions_get_of_an_unknown_resource_id_fails_on_stderr(aws: CreatedResources) -> None:
    # When the operator asks for a session that does not exist
    result = runner.invoke(app, ["sessions", "get", "acme/session/404"])
    # Then the command fails with a message on stderr and nothing on stdout
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "acme/session/404" in result.stderr
