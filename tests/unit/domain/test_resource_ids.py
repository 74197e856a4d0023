"""Resource ids: `{org}/session/{n}`, `{org}/location/{n}` or a plain `n`; another org's id is refused."""

from __future__ import annotations

from typing import Any

import pytest

from session_ingest.domain.resource_ids import (
    InvalidResourceId,
    ResourceKind,
    format_resource_id,
    normalise_resource_id,
    parse_resource_number,
)


@pytest.mark.parametrize(
    ("value", "kind", "organisation", "expected"),
    [
        ("acme/session/9001", "session", "acme", "acme/session/9001"),
        ("ACME/Session/0042", "session", "acme", "acme/session/42"),
        (9001, "session", "acme", "acme/session/9001"),
        ("9001", "session", "acme", "acme/session/9001"),
        (" 9001 ", "session", "acme", "acme/session/9001"),
        ("acme/location/301", "location", "acme", "acme/location/301"),
        (301, "location", "acme", "acme/location/301"),
        ("acme/session/9001", "session", None, "acme/session/9001"),
        ("Globex/session/7", "session", None, "globex/session/7"),
        (9001, "session", None, "9001"),
        ("0042", "location", None, "42"),
    ],
)
def test_resource_ids_normalise_to_their_canonical_form(
    value: Any, kind: ResourceKind, organisation: str | None, expected: str
) -> None:
    # Given an id in any accepted form / When normalised / Then it is the canonical form
    assert normalise_resource_id(value, kind, organisation) == expected


@pytest.mark.parametrize(
    ("value", "kind", "organisation", "message"),
    [
        ("globex/session/9001", "session", "acme", "another organisation"),
        ("acme/location/301", "session", "acme", "not a location id"),
        ("acme/session/9001", "location", None, "not a session id"),
        ("acme/session/", "session", "acme", "must be a session resource id"),
        ("acme/session/x", "session", "acme", "must be a session resource id"),
        ("acme/session/1/2", "session", "acme", "must be a session resource id"),
        ("/session/1", "session", "acme", "must be a session resource id"),
        ("acme session 1", "session", "acme", "must be a session resource id"),
        ("acme/session/0", "session", "acme", "positive record number"),
        (0, "session", "acme", "positive record number"),
        (-5, "location", "acme", "positive record number"),
        ("99999999999999999999", "session", "acme", "positive record number"),
        (True, "session", "acme", "must be a session resource id"),
        (12.0, "session", "acme", "must be a session resource id"),
        (None, "session", "acme", "must be a session resource id"),
        ("", "location", "acme", "must be a location resource id"),
    ],
    ids=repr,
)
def test_invalid_resource_ids_are_rejected(
    value: Any, kind: ResourceKind, organisation: str | None, message: str
) -> None:
    # Given an id that is malformed, of another kind or of another organisation
    # When normalised / Then the error says which
    with pytest.raises(InvalidResourceId, match=message):
        normalise_resource_id(value, kind, organisation)


def test_the_consumer_gets_the_record_number_of_either_form() -> None:
    # Given a formatted id and a plain number of the same session
    # When their numbers are parsed / Then both are the same integer
    assert parse_resource_number("acme/session/9001", "session", "acme") == 9001
    assert parse_resource_number(9001, "session", "acme") == 9001


def test_formatting_and_parsing_round_trip() -> None:
    # Given a formatted id / When it is parsed back / Then the number survives
    resource_id = format_resource_id("acme", "location", 301)
    assert resource_id == "acme/location/301"
    assert parse_resource_number(resource_id, "location", "acme") == 301
