"""Mapping rules: root key, JMESPath sources, defaults; loading and validating a mapping document."""

from __future__ import annotations

from typing import Any

import pytest

from session_ingest.domain import mapping
from session_ingest.domain.mapping import load_mapping_rules, map_payload
from session_ingest.domain.models import EndpointType, MappingRules
from session_ingest.domain.record_types import RecordType
from session_ingest.errors import InvalidMapping

CMS_MAPPING = {
    "root_key": "item",
    "fields": {
        "organisation_uid": "id",
        "name": "title",
        "start_time": "schedule.starts",
        "finish_time": "schedule.ends",
        "categories": "tags[].id",
        "card_link_url": '"detail-url"',
    },
    "defaults": {"active": True, "skill_level": "100"},
}


def test_sources_rename_and_relocate_fields() -> None:
    # Given a mapping for a CMS that nests and renames fields
    rules = load_mapping_rules(CMS_MAPPING)
    payload = {
        "item": {
            "id": "cms-7",
            "title": "Serverless at Scale",
            "schedule": {"starts": "2026-06-15 09:00:00", "ends": "2026-06-15 10:00:00"},
            "tags": [{"id": 7}, {"id": 12}],
            "detail-url": "https://cms.example/s/7",
        }
    }
    # When a payload is mapped with it
    result = map_payload(payload, rules, "acme")
    # Then each target field is read from its source and defaults fill the rest
    assert result.errors == []
    assert result.warnings == []
    assert result.record == {
        "organisation_uid": "cms-7",
        "name": "Serverless at Scale",
        "start_time": "2026-06-15T09:00:00Z",
        "finish_time": "2026-06-15T10:00:00Z",
        "categories": [7, 12],
        "card_link_url": "https://cms.example/s/7",
        "active": True,
        "skill_level": "100",
    }


def test_a_given_value_wins_over_the_default() -> None:
    # Given a mapping with a default for active / When the payload sets it / Then the payload wins
    rules = load_mapping_rules({"defaults": {"active": True}})
    assert map_payload({"session": {"active": "no"}}, rules, None).record == {"active": False}


def test_a_null_value_takes_the_default() -> None:
    # Given a mapping with a default / When the payload sends null / Then the default applies
    rules = load_mapping_rules({"defaults": {"active": True}})
    assert map_payload({"session": {"active": None}}, rules, None).record == {"active": True}


def test_unmapped_fields_keep_their_documented_names() -> None:
    # Given a mapping that renames only the name
    rules = load_mapping_rules({"fields": {"name": "title"}})
    # When a payload uses the documented name for another field, and the old name for name
    result = map_payload({"session": {"title": "T", "code": "C1", "name": "ignored"}}, rules, None)
    # Then the documented names still work, and the key no source reads is reported
    assert result.record == {"name": "T", "code": "C1"}
    assert [(w.code, w.field) for w in result.warnings] == [("unknown_field", "name")]


def test_a_null_root_key_maps_the_payload_itself() -> None:
    # Given a mapping without a root key / When a flat payload is mapped / Then its keys are fields
    rules = load_mapping_rules({"root_key": None})
    assert map_payload({"name": "Flat"}, rules, None).record == {"name": "Flat"}


def test_keys_read_by_expressions_are_not_reported_as_unknown() -> None:
    # Given a mapping whose source reads a nested key of "meta"
    rules = load_mapping_rules({"fields": {"code": "meta.code"}})
    # When mapped / Then "meta" is not an unknown field
    result = map_payload({"session": {"meta": {"code": "X1"}}}, rules, None)
    assert result.record == {"code": "X1"}
    assert result.warnings == []


def test_a_source_that_fails_on_this_payload_is_a_field_error() -> None:
    # Given a source that needs an array / When the payload holds a number there
    rules = load_mapping_rules({"fields": {"sort_order": "length(positions)"}})
    result = map_payload({"session": {"positions": 5}}, rules, None)
    # Then that field is in error, naming the failed source
    assert [error.field for error in result.errors] == ["sort_order"]
    assert "mapping source failed" in result.errors[0].message


def test_mapping_rules_are_compiled_once_and_reused() -> None:
    # Given two equal mappings / When compiled / Then the same compiled object serves both
    first = mapping.compile_mapping(MappingRules(fields={"name": "title"}))
    second = mapping.compile_mapping(MappingRules(fields={"name": "title"}))
    assert first is second


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a JSON object"),
        ({"root": "session"}, "unknown mapping key(s) 'root'"),
        ({"root_key": 5}, "root_key"),
        ({"root_key": ""}, "non-empty string"),
        ({"fields": ["name"]}, "fields"),
        ({"fields": {"name": 5}}, "fields.name"),
        ({"fields": {"title": "name"}}, "unknown session field(s): 'title'"),
        ({"fields": {"speakers": "speakers"}}, "unknown session field(s): 'speakers'"),
        ({"fields": {"name": "title[?"}}, "not valid JMESPath"),
        ({"fields": {"name": ""}}, "non-empty JMESPath"),
        ({"fields": {"name": "nosuch(title)"}}, "unknown JMESPath function nosuch()"),
        ({"fields": {"name": "length(a, b)"}}, "length() with 2 argument(s)"),
        ({"fields": {"name": "a." * 600 + "b"}}, "longer than"),
        ({"defaults": {"colour": "red"}}, "unknown session field(s): 'colour'"),
        ({"defaults": {"active": "maybe"}}, "the default for 'active' must be a boolean"),
        ({"defaults": {"start_time": "soon"}}, "the default for 'start_time'"),
        ({"defaults": []}, "defaults"),
    ],
    ids=repr,
)
def test_bad_mapping_documents_are_clear_errors(document: Any, message: str) -> None:
    # Given a mapping document with one mistake
    # When it is loaded / Then InvalidMapping says what is wrong
    with pytest.raises(InvalidMapping) as caught:
        load_mapping_rules(document)
    assert message in caught.value.reason


def test_an_unusable_mapping_is_reported_by_map_payload_not_raised() -> None:
    # Given rules that bypassed loading and hold an invalid expression
    rules = MappingRules(fields={"name": "title[?"})
    # When a payload is mapped with them / Then the result carries a mapping error
    result = map_payload({"session": {"title": "A"}}, rules, None)
    assert result.record is None
    assert [error.field for error in result.errors] == ["mapping"]


def test_endpoint_types_dispatch_through_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the session type registered with a different record description
    minimal = RecordType(
        name="session",
        fields={"name": lambda value, _context: str(value).upper()},
        is_unsupported_field=lambda _name: False,
        cross_checks=lambda _record: [],
    )
    monkeypatch.setitem(mapping.RECORD_TYPES, EndpointType.SESSION, minimal)
    # When a payload is mapped for that type
    result = map_payload({"session": {"name": "quiet", "code": "X"}}, MappingRules(), None)
    # Then the registered description decides the fields and rules
    assert result.record == {"name": "QUIET"}
    assert [w.field for w in result.warnings] == ["code"]


def test_an_unregistered_endpoint_type_is_a_mapping_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no record description registered for the endpoint's type
    monkeypatch.delitem(mapping.RECORD_TYPES, EndpointType.SESSION)
    # When a payload is mapped / Then the result says no mapper exists instead of raising
    result = map_payload({"session": {}}, MappingRules(), None)
    assert [error.field for error in result.errors] == ["mapping"]
    assert "no mapper" in result.errors[0].message


def _doubling(times: int) -> str:
    return " | ".join(["[@, @]"] * times)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (_doubling(6), "more than"),
        (f"to_string({_doubling(60)})", "more than"),
        (f"length({_doubling(40)}) == length({_doubling(40)})", "more than"),
        ("[a, b, c, d, e, f][*].[g, h, i, j, k, l]", "more than"),
        (f"map(&[{', '.join('abcdefgh')}], items) | [*].[a, b, c, d, e]", "more than"),
        ("(" * 510 + "name" + ")" * 510, "nests too deeply"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_a_source_whose_result_can_outgrow_the_payload_is_refused_when_configured(
    source: str, message: str
) -> None:
    # Given a JMESPath source whose result can be many times (or exponentially) larger than the payload
    # When the mapping is loaded / Then it is refused, saying why
    with pytest.raises(InvalidMapping, match=message):
        load_mapping_rules({"fields": {"name": source}})


@pytest.mark.parametrize(
    "source",
    [
        "session.title",
        "join(', ', [first, last])",
        "items[?kind == 'talk'].title | [0]",
        "{a: a, b: b, c: c}",
        "[a, b][*].[c, d]",
        "map(&to_string(@), ids)",
    ],
)
def test_ordinary_sources_stay_within_the_output_bound(source: str) -> None:
    # Given an ordinary JMESPath source / When the mapping is loaded / Then it is accepted
    load_mapping_rules({"fields": {"name": source}})


def test_a_stored_mapping_that_can_outgrow_the_payload_is_a_422_per_request_not_a_crash() -> None:
    # Given mapping rules that bypassed the configuration checks (built directly, as if read from the table)
    rules = MappingRules(fields={"name": f"to_string({_doubling(60)})"})
    # When a payload is mapped with them
    result = map_payload({"session": {"name": "x"}}, rules, "acme")
    # Then it is refused with a mapping error, without evaluating the expression
    assert result.record is None
    assert [error.field for error in result.errors] == ["mapping"]
