"""`ingestctl sessions list|get` and `ingestctl location create|list` against moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from ingestctl.admin import sessions as uid_lookup
from ingestctl.cli import app
from ingestctl.local.template import CreatedResources
from session_ingest.adapters.aws import client
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


def test_location_create_on_another_organisations_event_is_refused_and_stores_nothing(
    aws: CreatedResources,
) -> None:
    # Given event 42 holds a location of acme (which claims the event for acme)
    _ingestctl("location", "create", "--org", "acme", "--event-id", "42", "--name", "Hall A")
    # When globex creates a location on the same event
    result = runner.invoke(app, ["location", "create", "--org", "globex", "--event-id", "42", "--name", "X"])
    # Then it is refused in one line naming the owner, and the event keeps only acme's location
    assert result.exit_code == 1
    assert "event 42 belongs to organisation 'acme', not 'globex'" in result.stderr
    locations = _ingestctl("location", "list", "--event-id", "42")["locations"]
    assert [loc["organisation"] for loc in locations] == ["acme"]


def test_location_create_claims_an_event_nobody_owns_for_its_organisation(aws: CreatedResources) -> None:
    # Given a location of acme on an event with no endpoint yet
    _ingestctl("location", "create", "--org", "acme", "--event-id", "77", "--name", "Hall A")
    # When globex creates an endpoint on that event
    result = runner.invoke(app, ["endpoint", "create", "--org", "globex", "--event-id", "77"])
    # Then it is refused: the event is acme's
    assert result.exit_code == 1
    assert "belongs to organisation 'acme'" in result.stderr


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


SECOND = "acme/session/2"


def test_sessions_find_lists_both_holders_of_a_duplicate_uid(aws: CreatedResources) -> None:
    # Given session 1 holding uid U, then session 2 given U by resource id (a duplicate, rule 4)
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "one"}))
    accept_and_deliver(make_envelope({"name": "two"}))
    accept_and_deliver(
        make_envelope({"resource_id": "acme/session/2", "organisation_uid": "U"}, accepted_at=at(1))
    )
    # When the operator looks the uid up
    found = _ingestctl("sessions", "find", "--event-id", str(EVENT_ID), "--uid", "U")
    # Then both sessions are listed, and the one uid-only payloads update (the first holder) is named
    assert (found["count"], found["organisation_uid"]) == (2, "U")
    assert [s["resource_id"] for s in found["sessions"]] == ["acme/session/1", "acme/session/2"]
    assert found["matched_by_uid"] == "acme/session/1"
    assert all("pk" not in s and "event_organisation_uid" not in s for s in found["sessions"])


def test_sessions_find_leaves_out_a_session_that_gave_the_uid_up(aws: CreatedResources) -> None:
    # Given sessions 1 and 2 both holding U, then session 2 moved to uid V
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "one"}))
    accept_and_deliver(make_envelope({"name": "two"}))
    accept_and_deliver(
        make_envelope({"resource_id": "acme/session/2", "organisation_uid": "U"}, accepted_at=at(1))
    )
    accept_and_deliver(
        make_envelope({"resource_id": "acme/session/2", "organisation_uid": "V"}, accepted_at=at(2))
    )
    # When U is looked up
    found = _ingestctl("sessions", "find", "--event-id", str(EVENT_ID), "--uid", "U")
    # Then only session 1 holds it
    assert [s["resource_id"] for s in found["sessions"]] == ["acme/session/1"]


def test_sessions_find_of_an_unknown_uid_is_an_empty_answer(aws: CreatedResources) -> None:
    # Given a session with another uid, and one in another event with the same uid
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "one"}))
    accept_and_deliver(make_envelope({"organisation_uid": "W", "name": "elsewhere"}, event_id=7))
    # When uid W is looked up in event 42
    found = _ingestctl("sessions", "find", "--event-id", str(EVENT_ID), "--uid", "W")
    # Then nothing is found, which is not an error
    assert (found["count"], found["sessions"], found["matched_by_uid"]) == (0, [], None)


def test_sessions_find_queries_the_uid_index_and_never_scans(
    aws: CreatedResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored session, and every DynamoDB call recorded
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "one"}))
    calls: list[tuple[str, str | None]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, params.get("IndexName")))

    def recording_client(name: str) -> Any:
        shared = client(name)
        shared.meta.events.register("before-parameter-build.dynamodb", record, unique_id="find-test")
        return shared

    monkeypatch.setattr(uid_lookup, "client", recording_client)
    # When the uid is looked up
    _ingestctl("sessions", "find", "--event-id", str(EVENT_ID), "--uid", "U")
    # Then it is one Query of OrganisationUidIndex and one consistent batch read, never a scan
    assert calls == [("Query", "OrganisationUidIndex"), ("BatchGetItem", None)]


def test_every_table_view_prints_a_table_for_people(aws: CreatedResources) -> None:
    # Given a stored session, a location and an endpoint
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "one"}))
    _ingestctl("location", "create", "--org", "acme", "--event-id", str(EVENT_ID), "--name", "Hall A")
    endpoint_id = _ingestctl("endpoint", "create", "--org", "acme", "--event-id", str(EVENT_ID))[
        "endpoint_id"
    ]
    event = str(EVENT_ID)
    views = {
        ("endpoint", "list"): "1 endpoints",
        ("sessions", "list", "--event-id", event): "1 sessions",
        ("sessions", "find", "--event-id", event, "--uid", "U"): "uid-only payloads update acme/session/1",
        ("location", "list", "--event-id", event): "1 locations",
        ("requests", "list", "--endpoint-id", endpoint_id): "0 requests",
        ("dlq", "list"): "0 dead-lettered messages",
    }
    for args, title in views.items():
        # When each listing is asked for as a table
        result = runner.invoke(app, [*args, "--table"])
        # Then it prints its titled table, not JSON
        assert result.exit_code == 0, (args, result.output)
        assert title in " ".join(result.stdout.split()), (args, result.stdout)
        assert not result.stdout.lstrip().startswith(("{", "["))
