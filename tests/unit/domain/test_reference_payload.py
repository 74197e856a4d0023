"""The reference example payload of contract §5 maps to the documented normalised record."""

from __future__ import annotations

from session_ingest.domain.mapping import map_payload
from session_ingest.domain.models import MappingRules
from tests.fixtures import reference_session_payload

EXPECTED_RECORD = {
    "resource_id": "acme/session/9001",
    "organisation_uid": "ext-session-42",
    "name": "Introduction to Cloud Architecture",
    "description": "An introductory session covering core cloud architecture patterns.",
    "start_time": "2026-06-14T23:00:00Z",
    "finish_time": "2026-06-15T00:00:00Z",
    "location_resource_id": "acme/location/301",
    "active": True,
    "restricted": False,
    "skill_level": "100",
    "categories": [7, 12],
    "card_link_type": "external",
    "card_link_url": "https://example.com/session-details",
    "card_link_label": "View Details",
}


def test_the_reference_payload_maps_to_the_documented_record() -> None:
    # Given the contract's example payload for organisation acme
    payload = reference_session_payload()
    # When it is mapped with the default rules
    result = map_payload(payload, MappingRules(), "acme")
    # Then the record holds exactly the normalised fields and there is nothing to report
    assert result.errors == []
    assert result.warnings == []
    assert result.record == EXPECTED_RECORD


def test_the_reference_payload_is_rejected_for_another_organisation() -> None:
    # Given the contract's example payload, whose ids belong to acme
    payload = reference_session_payload()
    # When an endpoint of another organisation maps it
    result = map_payload(payload, MappingRules(), "globex")
    # Then both acme ids are field errors and there is no record
    assert result.record is None
    assert [error.field for error in result.errors] == ["resource_id", "location_resource_id"]
