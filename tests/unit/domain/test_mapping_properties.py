"""Properties of mapping for any input: it never raises, and normalising is idempotent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_ingest.domain.json_body import parse_json_body
from session_ingest.domain.mapping import load_mapping_rules, map_payload
from session_ingest.domain.models import MappingResult, MappingRules
from session_ingest.domain.session_fields import SESSION_FIELDS, session_record_model
from session_ingest.errors import MalformedJson

PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
RULES = MappingRules()

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _with_case_and_space(words: list[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda word, upper, pad: (" " * pad) + (word.upper() if upper else word) + (" " * pad),
        st.sampled_from(words),
        st.booleans(),
        st.integers(0, 2),
    )


def _time_strings() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1))
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
    return st.one_of(
        moments.map(lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S")),
        st.builds(lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), moments, offsets),
        moments.map(lambda moment: moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")),
    )


ids = st.integers(min_value=1, max_value=10**6)
id_lists = st.lists(ids, max_size=4)
booleans = (
    st.booleans() | st.sampled_from([0, 1]) | _with_case_and_space(["true", "yes", "on", "false", "no", ""])
)
texts = st.text(max_size=40) | st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=40)
resource_ids = (
    ids | ids.map(str) | ids.map(lambda n: f"acme/session/{n}") | ids.map(lambda n: f"other/session/{n}")
)
location_ids = ids | ids.map(lambda n: f"acme/location/{n}") | ids.map(lambda n: f"ACME/Location/{n}")
urls = st.sampled_from(
    ["https://example.com/x", "HTTP://Example.com", "/sessions/1", "javascript:alert(1)", " https://a.b/c "]
) | st.text(max_size=30)
css_values = st.sampled_from(
    [
        "#fff",
        "red",
        "url(x)",
        "linear-gradient( red ,blue )",
        "cover",
        "0.5",
        "expression(x)",
        "a\\b",
        " 10px  5px ",
    ]
)
backgrounds = st.dictionaries(
    st.sampled_from(["background-color", "Background-Size", "opacity", "behavior", "background-image", "x"]),
    css_values | st.floats(allow_nan=False, allow_infinity=False) | json_scalars,
    max_size=4,
)

FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "resource_id": resource_ids,
    "location_resource_id": location_ids,
    "start_time": _time_strings(),
    "finish_time": _time_strings(),
    "sort_order": st.integers(-1000, 1000) | st.integers(-1000, 1000).map(str),
    "entry_buffer": st.integers(0, 600) | st.integers(0, 600).map(str),
    "related_content_buffer": st.integers(-5, 600),
    "categories": id_lists | id_lists.map(lambda items: "|".join(map(str, items))),
    "traits": id_lists | id_lists.map(lambda items: "|".join(map(str, items))),
    "card_link_type": _with_case_and_space(["internal", "external"]),
    "card_link_url": urls,
    "eventapp_background": backgrounds | backgrounds.map(json.dumps),
    "email_content_id": ids | ids.map(str),
}
for _name in SESSION_FIELDS:
    if _name in FIELD_VALUES:
        continue
    if _name.startswith(("active", "restricted", "visible", "allow", "card_allow")):
        FIELD_VALUES[_name] = booleans
    elif _name.endswith("_id"):
        FIELD_VALUES[_name] = ids | ids.map(str)
    else:
        FIELD_VALUES[_name] = texts | st.integers(0, 999)


@st.composite
def session_payloads(draw: st.DrawFn, arbitrary: bool = True) -> dict[str, Any]:
    """A session object of plausible field values; with `arbitrary`, any JSON values and extra keys
    are mixed in too (to reach the error paths)."""
    names = draw(st.lists(st.sampled_from(sorted(SESSION_FIELDS)), unique=True, max_size=len(SESSION_FIELDS)))
    session = {}
    for name in names:
        values = (
            FIELD_VALUES[name] | json_scalars if arbitrary and draw(st.booleans()) else FIELD_VALUES[name]
        )
        session[name] = draw(values)
    if arbitrary:
        session.update(draw(st.dictionaries(st.text(max_size=12), json_values, max_size=2)))
    return {"session": session}


any_payloads = json_values | session_payloads() | st.builds(lambda session: {"session": session}, json_values)
organisations = st.sampled_from(["acme", None])


def assert_well_formed(result: MappingResult) -> None:
    if result.errors:
        assert result.record is None
        assert all(error.field and error.message for error in result.errors)
    else:
        assert result.record is not None
        json.dumps(result.record, allow_nan=False).encode("utf-8")
        session_record_model().model_validate(result.record)


@PROPERTY_SETTINGS
@given(payload=any_payloads, organisation=organisations)
def test_no_payload_crashes_the_mapper(payload: Any, organisation: str | None) -> None:
    # Given any payload at all / When it is mapped
    result = map_payload(payload, RULES, organisation)
    # Then it is a JSON-serialisable record or field errors, never an exception
    assert_well_formed(result)


EXPRESSION_RULES = load_mapping_rules(
    {
        "root_key": None,
        "fields": {
            "name": "title",
            "categories": "tags[].id",
            "sort_order": "length(positions)",
            "code": "join('-', codes)",
            "start_time": "schedule.starts",
            "description": "to_string(@)",
        },
        "defaults": {"active": True},
    }
)


@PROPERTY_SETTINGS
@given(
    payload=json_values
    | st.dictionaries(st.sampled_from(["title", "tags", "positions", "codes"]), json_values)
)
def test_no_payload_crashes_a_mapping_of_jmespath_expressions(payload: Any) -> None:
    # Given a mapping whose expressions expect particular shapes, and any payload at all
    # When it is mapped / Then it is a record or field errors, never an exception
    assert_well_formed(map_payload(payload, EXPRESSION_RULES, "acme"))


@PROPERTY_SETTINGS
@given(payload=session_payloads(arbitrary=False), organisation=organisations)
def test_normalising_a_normalised_record_changes_nothing(
    payload: dict[str, Any], organisation: str | None
) -> None:
    # Given a payload that maps to a record
    first = map_payload(payload, RULES, organisation)
    if first.record is None:
        return
    # When the record itself is sent as the session
    second = map_payload({"session": first.record}, RULES, organisation)
    # Then it maps to the same record, with nothing to report
    assert second.errors == []
    assert second.warnings == []
    assert second.record == first.record


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200) | json_values.map(json.dumps))
def test_parsing_any_body_returns_a_value_or_malformed_json(raw: bytes | str) -> None:
    # Given any bytes or text / When parsed / Then it is a value or MalformedJson, nothing else
    try:
        parse_json_body(raw)
    except MalformedJson as error:
        reason = error.reason
    else:
        reason = "parsed"
    assert reason


@settings(max_examples=100, deadline=None)
@given(
    value=json_values.filter(lambda value: json.dumps(value, allow_nan=False) if _finite(value) else False)
)
def test_strict_parsing_agrees_with_json_on_strict_documents(value: Any) -> None:
    # Given a strict JSON document (no NaN, no duplicate keys, shallow)
    raw = json.dumps(value)
    # When parsed strictly / Then the result equals the standard parser's
    assert parse_json_body(raw.encode()) == json.loads(raw)


def _finite(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True
