"""contract §6 matching rules and uid-claim bookkeeping, without AWS."""

from __future__ import annotations

import pytest

from session_ingest.domain.locations import location_number, resolve_location
from session_ingest.domain.matching import (
    ClaimWrite,
    MatchAction,
    MatchBy,
    MatchKeys,
    decide_match,
    match_keys,
    plan_uid_claims,
)
from session_ingest.domain.sessions import UidClaim, mergeable_fields, reserved_fields_in

CLAIM_U = UidClaim(organisation_uid="U", holders=(7,), version=3)


@pytest.mark.parametrize(
    ("keys", "session_found", "claim", "expected"),
    [
        pytest.param(
            MatchKeys(5, None), True, None, (MatchAction.UPDATE, MatchBy.RESOURCE_ID, 5), id="rule 1"
        ),
        pytest.param(
            MatchKeys(5, "U"), True, CLAIM_U, (MatchAction.UPDATE, MatchBy.RESOURCE_ID, 5), id="rule 1 first"
        ),
        pytest.param(
            MatchKeys(5, "U"),
            False,
            CLAIM_U,
            (MatchAction.UPDATE, MatchBy.ORGANISATION_UID, 7),
            id="rule 2 fallback",
        ),
        pytest.param(
            MatchKeys(None, "U"),
            False,
            CLAIM_U,
            (MatchAction.UPDATE, MatchBy.ORGANISATION_UID, 7),
            id="rule 2",
        ),
        pytest.param(MatchKeys(5, "U"), False, None, (MatchAction.CREATE, None, None), id="nothing matched"),
        pytest.param(
            MatchKeys(None, None), False, None, (MatchAction.CREATE, None, None), id="nothing given"
        ),
    ],
)
def test_matching_applies_rules_in_order(keys, session_found, claim, expected) -> None:
    # Given what the key reads found  # When the rules are applied
    decision = decide_match(keys, session_found, claim)
    # Then the first rule that matches decides
    assert (decision.action, decision.by, decision.session_number) == expected


def test_a_uid_held_by_several_sessions_matches_its_first_holder() -> None:
    # Given a claim with two holders (a rule 4 duplicate)
    claim = UidClaim("U", holders=(3, 9), version=2)
    # When matching by that uid
    decision = decide_match(MatchKeys(None, "U"), False, claim)
    # Then the first holder is updated
    assert decision.session_number == 3


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"resource_id": "acme/session/12"}, MatchKeys(12, None)),
        ({"resource_id": "12", "organisation_uid": "x-1"}, MatchKeys(12, "x-1")),
        ({"organisation_uid": "x-1"}, MatchKeys(None, "x-1")),
        ({"organisation_uid": ""}, MatchKeys(None, None)),
        ({"name": "only"}, MatchKeys(None, None)),
    ],
)
def test_match_keys_come_from_resource_id_and_organisation_uid(record, expected) -> None:
    assert match_keys(record, "acme") == expected


def test_another_organisations_resource_id_is_refused() -> None:
    with pytest.raises(ValueError, match=r".+"):
        match_keys({"resource_id": "other/session/1"}, "acme")


@pytest.mark.parametrize(
    ("previous_uid", "new_uid", "new_claim", "previous_claim", "writes", "duplicates"),
    [
        pytest.param(None, None, None, None, (), (), id="no uid given: nothing to claim"),
        pytest.param(None, "U", None, None, (ClaimWrite("U", None, (5,)),), (), id="first claim of a uid"),
        pytest.param("U", "U", UidClaim("U", (5,), 1), None, (), (), id="uid unchanged: nothing to write"),
        pytest.param(
            "O",
            "U",
            None,
            UidClaim("O", (5,), 4),
            (ClaimWrite("U", None, (5,)), ClaimWrite("O", UidClaim("O", (5,), 4), ())),
            (),
            id="uid changed: new claim, old claim deleted",
        ),
        pytest.param(
            None,
            "U",
            UidClaim("U", (7,), 2),
            None,
            (ClaimWrite("U", UidClaim("U", (7,), 2), (7, 5)),),
            (7, 5),
            id="uid of another session: joins as second holder, a duplicate",
        ),
        pytest.param(
            "U",
            "V",
            None,
            UidClaim("U", (5, 7), 6),
            (ClaimWrite("V", None, (5,)), ClaimWrite("U", UidClaim("U", (5, 7), 6), (7,))),
            (),
            id="first holder leaves: the next holder becomes the uid's session",
        ),
        pytest.param("U", "U", UidClaim("U", (7, 5), 2), None, (), (7, 5), id="already a duplicate holder"),
    ],
)
def test_uid_claims_follow_the_sessions_carrying_the_uid(
    previous_uid, new_uid, new_claim, previous_claim, writes, duplicates
) -> None:
    # Given session 5's previous uid and the claims as read  # When it takes `new_uid`
    plan = plan_uid_claims(5, previous_uid, new_uid, new_claim, previous_claim)
    # Then the claim writes and the duplicate holders are as expected
    assert plan.writes == writes
    assert plan.duplicate_holders == duplicates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme/location/3", 3),
        ("3", 3),
        (3, 3),
        ("other/location/3", None),
        ("acme/session/3", None),
        ("", None),
    ],
)
def test_location_references_are_read_as_numbers_of_this_organisation(value, expected) -> None:
    assert location_number({"location_resource_id": value}, "acme") == expected


def test_an_existing_location_is_stored_as_its_canonical_resource_id() -> None:
    fields, warnings = resolve_location(
        {"location_resource_id": "3", "name": "n"}, "acme", 42, 3, exists=True
    )
    assert fields == {"location_resource_id": "acme/location/3", "name": "n"}
    assert warnings == []


def test_an_unknown_location_is_skipped_with_a_warning() -> None:
    fields, warnings = resolve_location(
        {"location_resource_id": "9", "name": "n"}, "acme", 42, 9, exists=False
    )
    assert fields == {"name": "n"}
    assert [(w.code, w.field) for w in warnings] == [("unknown_location", "location_resource_id")]


def test_the_resource_id_selects_and_is_never_merged() -> None:
    assert mergeable_fields({"resource_id": "acme/session/1", "name": "n"}) == {"name": "n"}


def test_records_cannot_set_consumer_owned_attributes() -> None:
    assert reserved_fields_in({"name": "n", "version": 9, "pk": "x", "resource_id": "1"}) == ["pk", "version"]
