"""Every contract §5 session field through `map_payload`: accepted forms, failures, cross-field rules."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from session_ingest import limits
from session_ingest.domain.mapping import map_payload
from session_ingest.domain.models import MappingResult, MappingRules
from session_ingest.domain.session_fields import SESSION_FIELDS, session_record_model

ORG = "acme"


def map_session(fields: dict[str, Any], organisation: str | None = ORG) -> MappingResult:
    return map_payload({"session": fields}, MappingRules(), organisation)


VALID_FIELDS: list[tuple[str, Any, Any]] = [
    ("resource_id", "acme/session/9001", "acme/session/9001"),
    ("resource_id", 9001, "acme/session/9001"),
    ("resource_id", "9001", "acme/session/9001"),
    ("organisation_uid", "ext-session-42", "ext-session-42"),
    ("organisation_uid", 42, "42"),
    ("code", " CLD-101 ", "CLD-101"),
    ("name", "Introduction to Cloud Architecture", "Introduction to Cloud Architecture"),
    ("description", "Line one.\nLine two.", "Line one.\nLine two."),
    ("description", "", ""),
    ("start_time", "2026-06-15T09:00:00+10:00", "2026-06-14T23:00:00Z"),
    ("start_time", "2026-06-14 23:00:00", "2026-06-14T23:00:00Z"),
    ("finish_time", "2026-06-15T10:00:00+10:00", "2026-06-15T00:00:00Z"),
    ("location_resource_id", "acme/location/301", "acme/location/301"),
    ("location_resource_id", 301, "acme/location/301"),
    ("location_resource_id", "301", "acme/location/301"),
    ("active", "yes", True),
    ("restricted", "off", False),
    ("restricted_allow_override", 1, True),
    ("visible_in_api", "", False),
    ("allow_survey", " TRUE ", True),
    ("skill_level", "100", "100"),
    ("skill_level", 200, "200"),
    ("skill_level", 300.0, "300"),  # JSON has one number type: 300.0 is the integer 300
    ("sort_order", "-3", -3),
    ("sort_order", 10, 10),
    ("entry_buffer", "15", 15),
    ("entry_buffer", 0, 0),
    ("related_content_buffer", 30, 30),
    ("categories", "7|12", [7, 12]),
    ("categories", [7, 12], [7, 12]),
    ("traits", "3", [3]),
    ("traits", [3, "4"], [3, 4]),
    ("card_content", "Learn the patterns", "Learn the patterns"),
    ("card_link_label", "View Details", "View Details"),
    ("card_link_type", "External", "external"),
    ("card_link_type", "internal", "internal"),
    ("card_link_url", "https://example.com/session-details", "https://example.com/session-details"),
    ("card_link_url", "/sessions/1", "/sessions/1"),
    ("card_allow_rating", "y", True),
    ("card_allow_comment", "n", False),
    ("card_rating_message", "How was it?", "How was it?"),
    ("email_content_id", "11", 11),
    ("sms_content_id", 12, 12),
    ("related_email_content_id", 13, 13),
    ("related_sms_content_id", 14, 14),
    ("related_card_content_id", 15, 15),
    ("eventapp_promo_text", "Don't miss it", "Don't miss it"),
    ("eventapp_promo_logo", "https://example.com/logo.png", "https://example.com/logo.png"),
    ("eventapp_background", {"background-color": "#fff"}, {"background-color": "#fff"}),
    ("eventapp_background", '{"opacity": 0.5}', {"opacity": "0.5"}),
]


@pytest.mark.parametrize(("field", "raw", "expected"), VALID_FIELDS, ids=lambda v: repr(v)[:30])
def test_each_field_is_normalised(field: str, raw: Any, expected: Any) -> None:
    # Given a payload carrying one field in an accepted form
    # When it is mapped
    result = map_session({field: raw})
    # Then the record holds exactly that field, normalised
    assert result.errors == []
    assert result.record == {field: expected}


def test_every_session_field_has_a_valid_example() -> None:
    # Given the table of valid examples / Then it covers every field the mapper knows
    assert {field for field, _, _ in VALID_FIELDS} == set(SESSION_FIELDS)


INVALID_FIELDS: list[tuple[str, Any, str]] = [
    ("resource_id", "globex/session/1", "another organisation"),
    ("resource_id", "acme/location/1", "not a location id"),
    ("resource_id", "session-1", "must be a session resource id"),
    ("organisation_uid", "   ", "must not be empty"),
    ("organisation_uid", ["x"], "must be a string"),
    ("organisation_uid", "x" * (limits.MAX_SINGLE_LINE_TEXT_CHARS + 1), "at most"),
    ("code", {"a": 1}, "must be a string"),
    ("name", "Two\nlines", "line breaks"),
    ("name", True, "must be a string"),
    ("description", "x" * (limits.MAX_MULTI_LINE_TEXT_CHARS + 1), "at most"),
    ("description", "bell\x07", "control characters"),
    ("start_time", "15/06/2026", "ISO 8601"),
    ("finish_time", "2026-02-30 10:00:00", "not a valid date"),
    ("location_resource_id", "globex/location/3", "another organisation"),
    ("location_resource_id", "acme/session/3", "not a session id"),
    ("active", "maybe", "must be a boolean"),
    ("restricted", 2, "must be a boolean"),
    ("restricted_allow_override", "enabled", "must be a boolean"),
    ("visible_in_api", [], "must be a boolean"),
    ("allow_survey", "ja", "must be a boolean"),
    ("card_allow_rating", 0.5, "must be a boolean"),
    ("card_allow_comment", "null", "must be a boolean"),
    ("skill_level", [100], "must be a string"),
    ("sort_order", "first", "integer"),
    ("entry_buffer", -1, "between 0"),
    ("related_content_buffer", "-5", "between 0"),
    ("entry_buffer", 2.5, "whole number"),
    ("categories", "7|seven", "item 2"),
    ("traits", {"3": 1}, "pipe-separated"),
    ("card_link_type", "popup", '"external" or "internal"'),
    ("card_link_url", "javascript:alert(1)", "http"),
    ("card_link_url", "data:text/html,x", "http"),
    ("card_link_url", "vbscript:x", "http"),
    ("email_content_id", 0, "positive"),
    ("sms_content_id", "abc", "integer"),
    ("related_email_content_id", -2, "positive"),
    ("related_sms_content_id", True, "not a boolean"),
    ("related_card_content_id", 1.5, "whole number"),
    ("eventapp_promo_text", 3.5, "must be a string"),
    ("eventapp_promo_logo", "x" * (limits.MAX_URL_CHARS + 1), "at most"),
    ("eventapp_background", {f"p{i}": "red" for i in range(limits.MAX_CSS_PROPERTIES + 1)}, "at most"),
    ("card_rating_message", ["x"], "must be a string"),
    ("card_content", False, "must be a string"),
    ("card_link_label", "a\tb", "line breaks or control"),
]


@pytest.mark.parametrize(("field", "raw", "message"), INVALID_FIELDS, ids=lambda v: repr(v)[:30])
def test_each_field_rejects_invalid_values(field: str, raw: Any, message: str) -> None:
    # Given a payload carrying one field in a form its rule refuses
    # When it is mapped
    result = map_session({"name": "Valid", field: raw})
    # Then there is no record and exactly that field has an error saying why
    assert result.record is None
    assert [error.field for error in result.errors] == [field]
    assert message in result.errors[0].message


def test_every_session_field_has_an_invalid_example() -> None:
    # Given the table of invalid examples / Then it covers every field the mapper knows
    assert {field for field, _, _ in INVALID_FIELDS} == set(SESSION_FIELDS)


def test_all_field_errors_are_reported_together() -> None:
    # Given a payload with several bad fields
    # When it is mapped
    result = map_session({"active": "maybe", "sort_order": "x", "card_link_type": "popup"})
    # Then every bad field is reported at once, so the integrator can fix them in one go
    assert {error.field for error in result.errors} == {"active", "sort_order", "card_link_type"}


def test_finish_before_start_is_an_error_on_finish_time() -> None:
    # Given a session that finishes before it starts (once converted to UTC)
    fields = {"start_time": "2026-06-15T09:00:00+10:00", "finish_time": "2026-06-14 22:59:59"}
    # When it is mapped
    result = map_session(fields)
    # Then finish_time is the field in error
    assert result.record is None
    assert [error.field for error in result.errors] == ["finish_time"]
    assert "before start_time" in result.errors[0].message


@pytest.mark.parametrize(
    ("start", "finish"),
    [("2026-06-14 23:00:00", "2026-06-14T23:00:00Z"), ("2026-06-15T09:00:00+10:00", "2026-06-15 00:00:00")],
)
def test_finish_equal_to_or_after_start_is_accepted(start: str, finish: str) -> None:
    # Given a finish equal to or after the start / When mapped / Then it is accepted
    assert map_session({"start_time": start, "finish_time": finish}).ok


def test_an_external_link_needs_an_absolute_url() -> None:
    # Given an external link to a site path
    result = map_session({"card_link_type": "external", "card_link_url": "/sessions/1"})
    # Then the URL is in error
    assert [error.field for error in result.errors] == ["card_link_url"]


def test_an_internal_link_may_use_a_site_path() -> None:
    # Given an internal link to a site path / When mapped / Then it is accepted
    result = map_session({"card_link_type": "internal", "card_link_url": "/sessions/1"})
    assert result.record == {"card_link_type": "internal", "card_link_url": "/sessions/1"}


def test_null_means_absent_so_partial_updates_keep_stored_values() -> None:
    # Given a payload whose optional fields are null
    result = map_session({"name": "Kept", "description": None, "active": None, "categories": None})
    # Then the nulls are left out of the record, not stored as null
    assert result.record == {"name": "Kept"}


def test_absent_fields_are_absent_from_the_record() -> None:
    # Given a payload with one field / When mapped / Then the record has only that key
    assert map_session({"active": True}).record == {"active": True}


@pytest.mark.parametrize(
    "field", ["speakers", "tracks", "speaker_ids", "track_ids", "speaker", "track", "Speaker_Resource_Ids"]
)
def test_speaker_and_track_fields_are_ignored_with_unsupported_field(field: str) -> None:
    # Given a payload assigning speakers or tracks
    result = map_session({"name": "A", field: [1, 2]})
    # Then the record is accepted without it and the warning names the field
    assert result.record == {"name": "A"}
    assert [(w.code, w.field) for w in result.warnings] == [("unsupported_field", field)]


def test_unknown_fields_are_ignored_with_a_warning_naming_them() -> None:
    # Given a payload with fields the session does not have, inside and beside the session object
    result = map_payload({"session": {"name": "A", "colour": "red"}, "meta": {}}, MappingRules(), ORG)
    # Then they are ignored and each is named in an unknown_field warning
    assert result.record == {"name": "A"}
    assert sorted((w.code, w.field) for w in result.warnings) == [
        ("unknown_field", "colour"),
        ("unknown_field", "meta"),
    ]


def test_unsafe_css_is_dropped_with_a_warning_and_the_rest_kept() -> None:
    # Given a background with a safe colour and an unsafe image
    background = {"background-color": "#fff", "background-image": "url(javascript:alert(1))"}
    # When mapped
    result = map_session({"eventapp_background": background})
    # Then the colour is kept and the image dropped with css_property_dropped
    assert result.record == {"eventapp_background": {"background-color": "#fff"}}
    assert [(w.code, w.field) for w in result.warnings] == [
        ("css_property_dropped", "eventapp_background.background-image")
    ]


@pytest.mark.parametrize("background", ["not json", ["a"], 42, '["background-color"]', True])
def test_a_background_that_is_no_object_is_ignored_with_a_warning_and_the_rest_processed(
    background: Any,
) -> None:
    # Given a payload whose background is neither an object nor a JSON string of one
    # When mapped
    result = map_session({"name": "Styled", "eventapp_background": background})
    # Then the background is left out (contract §5: "invalid values are ignored"), the rest is kept,
    # and a warning names the field
    assert result.errors == []
    assert result.record == {"name": "Styled"}
    assert [(w.code, w.field) for w in result.warnings] == [("invalid_value_ignored", "eventapp_background")]


def test_warnings_are_capped_with_a_final_summary() -> None:
    # Given a payload with far more unknown fields than the warning cap
    fields = {f"extra_{i}": i for i in range(limits.MAX_WARNINGS_PER_RECORD + 25)}
    # When mapped
    result = map_session(fields)
    # Then the cap is kept and the last warning says how many were left out
    assert len(result.warnings) == limits.MAX_WARNINGS_PER_RECORD + 1
    assert result.warnings[-1].code == "warnings_truncated"
    assert result.warnings[-1].message.startswith("25 more")


def test_long_unknown_field_names_are_shortened_in_warnings() -> None:
    # Given an unknown field with a very long name
    result = map_session({"x" * 10_000: 1})
    # Then the warning echoes only a short prefix of it
    assert len(result.warnings[0].message) < 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([{"name": "A"}], "payload"),
        ("session", "payload"),
        (None, "payload"),
        ({}, "session"),
        ({"session": None}, "session"),
        ({"session": [{"name": "A"}]}, "session"),
        ({"session": "name=A"}, "session"),
        ({"Session": {"name": "A"}}, "session"),
    ],
    ids=repr,
)
def test_a_payload_without_a_session_object_is_an_error(payload: Any, field: str) -> None:
    # Given a payload that does not hold an object under "session"
    # When mapped / Then the error points at where the session was expected
    result = map_payload(payload, MappingRules(), ORG)
    assert result.record is None
    assert [error.field for error in result.errors] == [field]


def test_an_empty_session_object_maps_to_an_empty_record() -> None:
    # Given an empty session object / When mapped / Then the record is empty (nothing to change)
    assert map_session({}).record == {}


def test_mapped_records_match_the_session_record_model() -> None:
    # Given a payload setting every field
    fields = {field: raw for field, raw, _ in VALID_FIELDS}
    fields.update({"card_link_type": "external", "card_link_url": "https://example.com/x"})
    # When mapped
    result = map_session(fields)
    # Then the record validates against the derived record model and names every field
    assert result.record is not None
    record_model = session_record_model()
    assert record_model.model_validate(result.record).model_dump(exclude_unset=True) == result.record
    assert set(record_model.model_fields) == set(SESSION_FIELDS) == set(result.record)


def test_the_record_model_refuses_null_and_unknown_fields() -> None:
    # Given the derived record model (absent fields are absent, never null)
    record_model = session_record_model()
    # When a record holds a null, a field the session does not have, or a raw (unnormalised) value
    # Then it is refused
    for record in ({"name": None}, {"speakers": "x"}, {"active": "yes"}):
        with pytest.raises(ValidationError):
            record_model.model_validate(record)


# The promotion logo is an image URL (issue 12 finding 4): the card link's URL rules apply.
PROMO_LOGOS_KEPT = [
    ("https://cdn.example.com/logo.png", "https://cdn.example.com/logo.png"),
    ("http://example.com/logo.png", "http://example.com/logo.png"),
    ("HTTPS://Example.com/Logo.png", "https://Example.com/Logo.png"),
    ("/images/logo.png", "/images/logo.png"),
    ("  https://example.com/logo.png\n", "https://example.com/logo.png"),
]
PROMO_LOGOS_REFUSED = [
    ("javascript:alert(1)", "other schemes are not allowed"),
    ("JaVaScRiPt:alert(1)", "other schemes are not allowed"),
    ("data:image/svg+xml,<svg/onload=alert(1)>", "angle brackets"),
    ("data:image/png;base64,iVBORw0KGgo=", "other schemes are not allowed"),
    ('"><img/src=x/onerror=alert(1)>', "quotes"),
    ("//evil.example.com/logo.png", "other schemes are not allowed"),
    ("https://user@evil.example.com/logo.png", "credentials"),
    ("https://example.com/logo.png?&#106;s", "character references"),
    ("logo.png", "other schemes are not allowed"),
    ("", "http(s) URL"),
    (12, "http(s) URL"),
]


@pytest.mark.parametrize(("raw", "expected"), PROMO_LOGOS_KEPT)
def test_a_promo_logo_url_or_site_path_is_kept(raw: str, expected: str) -> None:
    # Given a payload whose promo logo is an http(s) URL or a site path
    # When it is mapped
    result = map_session({"eventapp_promo_logo": raw})
    # Then it is kept, trimmed, with the scheme in lower case
    assert result.errors == []
    assert result.record == {"eventapp_promo_logo": expected}


@pytest.mark.parametrize(("raw", "message"), PROMO_LOGOS_REFUSED)
def test_a_promo_logo_with_another_scheme_or_markup_is_a_field_error(raw: Any, message: str) -> None:
    # Given a payload whose promo logo is a script, a data URL, markup or no URL at all
    # When it is mapped
    result = map_session({"name": "Valid", "eventapp_promo_logo": raw})
    # Then it is refused with an error on that field saying why
    assert result.record is None
    assert [error.field for error in result.errors] == ["eventapp_promo_logo"]
    assert message in result.errors[0].message
