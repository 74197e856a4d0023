"""The consumer's matching and upsert rules (contract §6) against moto, one message at a time."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from ingestctl.local.template import CreatedResources
from session_ingest.domain.models import IngestWarning
from session_ingest.errors import UnreadableMessage
from session_ingest.observability import metrics
from session_ingest.service.process import ProcessStatus, QueueMessage, process_message
from tests.support.consumer import (
    EVENT_ID,
    accept_and_deliver,
    at,
    deliver,
    locations,
    make_envelope,
    outcome,
    outcomes,
    queue_request,
    sessions,
    stored_sessions,
)


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def _only_session() -> dict[str, Any]:
    found = stored_sessions()
    assert len(found) == 1, found
    return found[0]


def _warning_codes(request_id: str) -> list[str]:
    return [warning["code"] for warning in outcome(request_id)["warnings"]]


# -- rule 3: create -----------------------------------------------------------------------------------------


def test_a_record_matching_nothing_creates_a_session_with_a_new_resource_id(aws: CreatedResources) -> None:
    # Given a record with an organisation uid nobody holds
    envelope = make_envelope({"organisation_uid": "ext-1", "name": "Keynote", "sort_order": 3})
    # When it is processed
    result = accept_and_deliver(envelope)
    # Then one session exists with a generated resource id, and the outcome says created
    session = _only_session()
    assert result.status is ProcessStatus.CREATED
    assert session["resource_id"] == "acme/session/1"
    assert (session["name"], session["sort_order"], session["organisation_uid"]) == ("Keynote", 3, "ext-1")
    stored = outcome(envelope.request_id)
    assert (stored["status"], stored["action"], stored["resource_id"]) == (
        "processed",
        "created",
        "acme/session/1",
    )
    assert stored["processed_at"]


def test_sessions_are_numbered_per_organisation_across_events(aws: CreatedResources) -> None:
    # Given sessions created in two events of one organisation
    accept_and_deliver(make_envelope({"name": "a"}, event_id=1))
    # When a session is created in another event
    result = accept_and_deliver(make_envelope({"name": "b"}, event_id=2))
    # Then it takes the organisation's next number
    assert result.resource_id == "acme/session/2"


def test_a_record_without_match_keys_always_creates(aws: CreatedResources) -> None:
    # Given two records with neither resource id nor uid
    accept_and_deliver(make_envelope({"name": "a"}))
    # When the second is processed
    accept_and_deliver(make_envelope({"name": "b"}))
    # Then two sessions exist
    assert sorted(s["name"] for s in stored_sessions()) == ["a", "b"]


# -- rule 1: resource id ------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource_id", ["acme/session/1", "1"])
def test_a_known_resource_id_updates_that_session(aws: CreatedResources, resource_id: str) -> None:
    # Given a stored session
    accept_and_deliver(make_envelope({"name": "old", "code": "C1"}))
    # When a later record names it by formatted or plain resource id
    result = accept_and_deliver(make_envelope({"resource_id": resource_id, "name": "new"}, accepted_at=at(1)))
    # Then that session is updated, fields absent from the payload keep their values (rule 5)
    session = _only_session()
    assert result.status is ProcessStatus.UPDATED
    assert (session["name"], session["code"]) == ("new", "C1")
    assert outcome(result.request_id)["action"] == "updated"


def test_a_resource_id_match_changes_the_stored_organisation_uid(aws: CreatedResources) -> None:
    # Given a session holding uid A
    accept_and_deliver(make_envelope({"organisation_uid": "A"}))
    # When it is matched by resource id with uid B
    accept_and_deliver(make_envelope({"resource_id": "1", "organisation_uid": "B"}, accepted_at=at(1)))
    # Then the uid is B, B now matches the session and A no longer does
    assert _only_session()["organisation_uid"] == "B"
    by_b = accept_and_deliver(make_envelope({"organisation_uid": "B", "name": "via B"}, accepted_at=at(2)))
    by_a = accept_and_deliver(make_envelope({"organisation_uid": "A", "name": "via A"}, accepted_at=at(3)))
    assert by_b.resource_id == "acme/session/1"
    assert by_a.status is ProcessStatus.CREATED


def test_a_resource_id_not_in_this_event_creates_a_session_with_a_warning(aws: CreatedResources) -> None:
    # Given a session of another event
    accept_and_deliver(make_envelope({"name": "elsewhere"}, event_id=7))
    # When a record of event 42 names it
    result = accept_and_deliver(make_envelope({"resource_id": "acme/session/1", "name": "here"}))
    # Then a new session is created in event 42 and the outcome explains why
    assert result.status is ProcessStatus.CREATED
    assert [s["name"] for s in stored_sessions(EVENT_ID)] == ["here"]
    assert _warning_codes(result.request_id) == ["resource_id_not_found"]


def test_another_organisations_resource_id_fails_the_request(aws: CreatedResources) -> None:
    # Given a record naming another organisation's session (the API rejects these; defence in depth)
    envelope = make_envelope({"resource_id": "other/session/1", "name": "x"})
    # When it is processed
    result = accept_and_deliver(envelope)
    # Then the outcome is failed with the reason, and nothing is stored
    stored = outcome(envelope.request_id)
    assert result.status is ProcessStatus.FAILED
    assert stored["status"] == "failed"
    assert stored["errors"][0].startswith("resource_id:")
    assert stored_sessions() == []


# -- rule 2: organisation uid -------------------------------------------------------------------------------


def test_a_known_organisation_uid_updates_that_session(aws: CreatedResources) -> None:
    # Given a session created with a uid
    accept_and_deliver(make_envelope({"organisation_uid": "ext-1", "name": "old"}))
    # When a later record carries only that uid
    result = accept_and_deliver(
        make_envelope({"organisation_uid": "ext-1", "name": "new"}, accepted_at=at(1))
    )
    # Then the same session is updated
    assert result.resource_id == "acme/session/1"
    assert _only_session()["name"] == "new"


def test_create_followed_at_once_by_update_with_the_new_resource_id_updates(aws: CreatedResources) -> None:
    # Given a session just created
    created = accept_and_deliver(make_envelope({"name": "first"}))
    # When an update naming the new resource id follows immediately
    updated = accept_and_deliver(
        make_envelope({"resource_id": created.resource_id, "name": "second"}, accepted_at=at(1))
    )
    # Then it updates, never duplicates
    assert updated.status is ProcessStatus.UPDATED
    assert _only_session()["name"] == "second"


# -- rule 4: duplicate organisation uid ---------------------------------------------------------------------


def test_setting_a_uid_held_by_another_session_applies_it_and_warns(
    aws: CreatedResources, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given session 1 holding uid U and session 2 holding none
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "one"}))
    accept_and_deliver(make_envelope({"name": "two"}))
    capsys.readouterr()
    # When session 2 is given uid U by resource id (rule 1)
    envelope = make_envelope({"resource_id": "acme/session/2", "organisation_uid": "U"}, accepted_at=at(1))
    accept_and_deliver(envelope)
    # Then the change is applied and the outcome warns
    assert [s.get("organisation_uid") for s in stored_sessions()] == ["U", "U"]
    assert _warning_codes(envelope.request_id) == ["duplicate_organisation_uid"]
    # And a structured WARNING line names the uid, the sessions and the request
    warning = next(r for r in caplog.records if r.getMessage() == "duplicate organisation uid")
    assert warning.levelname == "WARNING"
    assert warning.__dict__["organisation_uid"] == "U"
    assert warning.__dict__["resource_ids"] == ["acme/session/1", "acme/session/2"]
    assert warning.__dict__["request_id"] == envelope.request_id
    # And the DuplicateOrganisationUid metric is emitted at once
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    metric = next(blob for blob in emitted if "DuplicateOrganisationUid" in blob)
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SessionIngest"
    assert metric["DuplicateOrganisationUid"] == [1.0]


def test_a_duplicated_uid_keeps_matching_the_session_that_held_it_first(aws: CreatedResources) -> None:
    # Given uid U on session 1, then also set on session 2
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "one"}))
    accept_and_deliver(make_envelope({"name": "two"}))
    accept_and_deliver(make_envelope({"resource_id": "2", "organisation_uid": "U"}, accepted_at=at(1)))
    # When a record carries only uid U
    envelope = make_envelope({"organisation_uid": "U", "name": "via uid"}, accepted_at=at(2))
    result = accept_and_deliver(envelope)
    # Then session 1 is updated and the uid is reported as found more than once
    assert result.resource_id == "acme/session/1"
    assert _warning_codes(envelope.request_id) == ["duplicate_organisation_uid"]


def test_when_the_first_holder_gives_a_duplicated_uid_up_the_other_holder_keeps_it(
    aws: CreatedResources,
) -> None:
    # Given uid U on sessions 1 and 2
    accept_and_deliver(make_envelope({"organisation_uid": "U"}))
    accept_and_deliver(make_envelope({"name": "two"}))
    accept_and_deliver(make_envelope({"resource_id": "2", "organisation_uid": "U"}, accepted_at=at(1)))
    # When session 1 takes another uid
    accept_and_deliver(make_envelope({"resource_id": "1", "organisation_uid": "V"}, accepted_at=at(2)))
    # Then U matches session 2, without a duplicate warning any more
    envelope = make_envelope({"organisation_uid": "U", "name": "now two"}, accepted_at=at(3))
    result = accept_and_deliver(envelope)
    assert result.resource_id == "acme/session/2"
    assert _warning_codes(envelope.request_id) == []


def test_an_older_request_changing_the_uid_is_stale_and_leaves_the_claims_alone(
    aws: CreatedResources,
) -> None:
    # Given session 1 whose uid was set to B by a request accepted at t=10
    accept_and_deliver(make_envelope({"organisation_uid": "A"}))
    accept_and_deliver(make_envelope({"resource_id": "1", "organisation_uid": "B"}, accepted_at=at(10)))
    # When a request accepted at t=5 tries to set uid C
    late = make_envelope({"resource_id": "1", "organisation_uid": "C"}, accepted_at=at(5))
    accept_and_deliver(late)
    # Then the uid stays B, B still matches, and C claims nothing
    assert _only_session()["organisation_uid"] == "B"
    assert sessions().get_claim(EVENT_ID, "C") is None
    assert sessions().get_claim(EVENT_ID, "B") is not None
    assert _warning_codes(late.request_id) == ["stale_field"]


# -- guarantees ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "receive_count", [1, 2], ids=["redelivered unseen", "redelivered with receive count"]
)
def test_the_same_message_delivered_twice_changes_nothing_the_second_time(
    aws: CreatedResources, receive_count: int
) -> None:
    # Given a message already processed (it created a session)
    envelope = make_envelope({"name": "once"})
    accept_and_deliver(envelope)
    before = (stored_sessions(), outcome(envelope.request_id))
    # When it is delivered again
    result = deliver(envelope, receive_count=receive_count)
    # Then nothing changes and the delivery succeeds
    assert result.status is ProcessStatus.ALREADY_FINAL
    assert (stored_sessions(), outcome(envelope.request_id)) == before


def test_a_redelivered_update_does_not_overwrite_a_newer_update(aws: CreatedResources) -> None:
    # Given an update processed, then a newer update processed
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "v0"}))
    older = make_envelope({"organisation_uid": "U", "name": "v1"}, accepted_at=at(1))
    accept_and_deliver(older)
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "v2"}, accepted_at=at(2)))
    # When the older update is delivered again
    deliver(older)
    # Then the newest value stays
    assert _only_session()["name"] == "v2"


def test_shuffled_old_and_new_updates_end_with_the_newest_value_of_each_field(aws: CreatedResources) -> None:
    # Given a session, and partial updates accepted at increasing times
    accept_and_deliver(make_envelope({"organisation_uid": "U"}))
    changes: list[tuple[int, dict[str, Any]]] = [
        (1, {"name": "n1", "code": "c1"}),
        (2, {"name": "n2"}),
        (3, {"description": "d3", "code": "c3"}),
        (4, {"name": "n4", "sort_order": 4}),
        (5, {"sort_order": 5}),
        (6, {"description": "d6"}),
    ]
    updates = [
        make_envelope({"organisation_uid": "U", **fields}, accepted_at=at(second))
        for second, fields in changes
    ]
    # When they arrive in a shuffled order
    random.Random(7).shuffle(updates)
    for envelope in updates:
        accept_and_deliver(envelope)
    # Then every field holds its newest value
    session = _only_session()
    assert (session["name"], session["code"], session["description"], session["sort_order"]) == (
        "n4",
        "c3",
        "d6",
        5,
    )


def test_a_late_older_request_is_applied_where_it_is_newest_and_reports_the_rest_stale(
    aws: CreatedResources,
) -> None:
    # Given a session whose name was set by a request accepted at t=10
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "new"}, accepted_at=at(10)))
    # When a request accepted at t=5 arrives with a name and a code
    late = make_envelope({"organisation_uid": "U", "name": "old", "code": "C"}, accepted_at=at(5))
    accept_and_deliver(late)
    # Then the code is applied, the name is not, and the outcome names the stale field
    session = _only_session()
    assert (session["name"], session["code"]) == ("new", "C")
    stale = [w for w in outcome(late.request_id)["warnings"] if w["code"] == "stale_field"]
    assert [w["field"] for w in stale] == ["name"]


# -- locations ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reference", ["acme/location/1", "1"])
def test_a_reference_to_an_existing_location_is_stored(aws: CreatedResources, reference: str) -> None:
    # Given a location of the event
    locations().create("acme", EVENT_ID, "Hall A", at(0))
    # When a session references it
    result = accept_and_deliver(make_envelope({"name": "s", "location_resource_id": reference}))
    # Then the canonical reference is stored, without warning
    assert _only_session()["location_resource_id"] == "acme/location/1"
    assert _warning_codes(result.request_id) == []


@pytest.mark.parametrize("event_id", [EVENT_ID, 99], ids=["no such location", "location of another event"])
def test_a_reference_to_an_unknown_location_is_skipped_with_a_warning(
    aws: CreatedResources, event_id: int
) -> None:
    # Given a location only in event 99 (or none at all)
    if event_id != EVENT_ID:
        locations().create("acme", event_id, "Elsewhere", at(0))
    # When a session of event 42 references location 1
    envelope = make_envelope({"name": "s", "location_resource_id": "1"})
    accept_and_deliver(envelope)
    # Then the session is stored without it and the outcome warns
    assert "location_resource_id" not in _only_session()
    assert _warning_codes(envelope.request_id) == ["unknown_location"]


# -- outcomes and failures ----------------------------------------------------------------------------------


def test_accept_time_warnings_are_kept_on_the_outcome(aws: CreatedResources) -> None:
    # Given a request accepted with a mapping warning
    warning = IngestWarning(code="unsupported_field", field="speakers", message="ignored")
    envelope = make_envelope({"name": "s", "location_resource_id": "5"}, warnings=[warning])
    # When it is processed with a warning of its own
    accept_and_deliver(envelope)
    # Then the outcome lists both
    assert _warning_codes(envelope.request_id) == ["unsupported_field", "unknown_location"]


def test_a_record_setting_reserved_attributes_fails_permanently(aws: CreatedResources) -> None:
    # Given a record that would overwrite the version attribute
    envelope = make_envelope({"name": "s", "version": 99})
    # When it is processed
    result = accept_and_deliver(envelope)
    # Then the outcome is failed with the reason and the message is consumed
    assert result.status is ProcessStatus.FAILED
    assert "version" in outcome(envelope.request_id)["errors"][0]


def test_an_envelope_that_names_its_request_but_does_not_validate_fails_that_request(
    aws: CreatedResources,
) -> None:
    # Given a queued request whose message lacks the organisation
    envelope = make_envelope({"name": "s"})
    queue_request(envelope)
    body = envelope.model_dump(mode="json")
    del body["organisation"]
    # When it is processed
    result = process_message(QueueMessage(json.dumps(body), envelope.request_id))
    # Then the request outcome is failed with the reason, and the message is consumed
    assert result.status is ProcessStatus.FAILED
    stored = outcome(envelope.request_id)
    assert stored["status"] == "failed"
    assert "organisation" in stored["errors"][0]


def test_an_invalid_envelope_for_an_unknown_request_writes_no_partial_outcome(aws: CreatedResources) -> None:
    # Given a message naming a request the API never recorded, without the fields to describe it
    body = json.dumps({"schema_version": 1, "request_id": "never-accepted", "record": {}})
    # When it is processed
    result = process_message(QueueMessage(body, "never-accepted"))
    # Then it is consumed as failed, without inventing an outcome item
    assert result.status is ProcessStatus.FAILED
    assert outcomes().get("never-accepted") is None


@pytest.mark.parametrize(
    "body",
    ["not json {", json.dumps(["a", "list"]), json.dumps({"schema_version": 99, "request_id": "r-1"})],
    ids=["not JSON", "not an envelope", "unknown schema version"],
)
def test_an_unreadable_message_is_reported_failed_with_its_reason_recorded(
    aws: CreatedResources, body: str
) -> None:
    # Given a queued request whose message body this consumer cannot read
    envelope = make_envelope({"name": "s"}, request_id="r-1")
    queue_request(envelope)
    # When it is processed
    with pytest.raises(UnreadableMessage) as raised:
        process_message(QueueMessage(body, "r-1"))
    # Then it is left for redelivery (and the DLQ), the outcome stays queued with the reason
    stored = outcome("r-1")
    assert stored["status"] == "queued"
    assert stored["last_error"] == raised.value.reason
    assert stored["delivery_attempts"] == 1


def test_claim_items_stay_out_of_the_resource_id_index(aws: CreatedResources) -> None:
    # Given a session with a uid (so a claim item exists)
    accept_and_deliver(make_envelope({"organisation_uid": "U", "name": "s"}))
    # When the session is looked up by resource id through the index
    found = sessions().find_by_resource_id("acme/session/1")
    # Then the session itself is found
    assert found is not None
    assert found["name"] == "s"


def test_an_unexpected_error_keeps_the_message_and_records_why(
    aws: CreatedResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a defect that makes processing raise something unforeseen
    def broken(*_: object) -> None:
        raise KeyError("field_accepted_at")

    monkeypatch.setattr("session_ingest.service.process.apply_envelope", broken)
    envelope = make_envelope({"name": "s"})
    queue_request(envelope)
    # When the message is processed
    with pytest.raises(KeyError):
        deliver(envelope)
    # Then the outcome stays queued with the reason, so the DLQ listing can explain it
    stored = outcome(envelope.request_id)
    assert stored["status"] == "queued"
    assert stored["last_error"] == "unexpected KeyError: 'field_accepted_at'"
