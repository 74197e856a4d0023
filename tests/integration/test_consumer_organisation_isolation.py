"""Organisations never cross in the consumer (contract §3, §6), even for a message naming another's event.

`endpoint create`/`update` refuse a second organisation on an event; these tests are the storage-side
layer behind that refusal: an envelope that claims organisation beta on alpha's event (a misconfigured
endpoint from before the refusal, or a message sent straight to the queue) is built directly here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ingestctl.local.template import CreatedResources
from session_ingest.adapters.unit_of_work import DynamoUnitOfWork
from session_ingest.domain.matching import ClaimWrite
from session_ingest.envelope import IngestEnvelope
from session_ingest.service.ports import Committed, ConditionFailed, SessionChange
from session_ingest.service.process import ProcessStatus
from tests.support.consumer import (
    EVENT_ID,
    T0,
    accept_and_deliver,
    make_envelope,
    outcome,
    sessions,
    stored_sessions,
)

ALPHA_UID = "alpha-uid-1"


@pytest.fixture
def alpha_session(aws: CreatedResources) -> dict[str, Any]:
    """Alpha's (acme's) session 1 in event 42, holding an organisation uid."""
    result = accept_and_deliver(make_envelope({"organisation_uid": ALPHA_UID, "name": "Alpha keynote"}))
    assert result.resource_id == "acme/session/1"
    [session] = stored_sessions()
    return session


def beta_envelope(record: dict[str, Any]) -> IngestEnvelope:
    """An envelope claiming organisation beta on alpha's event, accepted after alpha's request."""
    envelope = make_envelope(record, accepted_at=T0 + timedelta(minutes=5))
    return envelope.model_copy(update={"organisation": "beta"})


@pytest.mark.parametrize(
    "record",
    [
        {"resource_id": "beta/session/1", "name": "Beta was here"},
        {"resource_id": "1", "name": "Beta was here"},
        {"organisation_uid": ALPHA_UID, "name": "Beta was here"},
    ],
    ids=["by beta/session/1", "by plain 1", "by alpha's organisation uid"],
)
def test_another_organisations_envelope_never_changes_alphas_session(
    alpha_session: dict[str, Any], record: dict[str, Any]
) -> None:
    # Given alpha's session, and beta's envelope on alpha's event whose match key finds it
    envelope = beta_envelope(record)
    # When it is processed
    result = accept_and_deliver(envelope)
    # Then the request fails permanently, and alpha's session is exactly as it was
    assert result.status is ProcessStatus.FAILED
    assert stored_sessions() == [alpha_session]
    # And the outcome says why without revealing alpha's resource ids
    stored = outcome(envelope.request_id)
    assert stored["status"] == "failed"
    assert stored.get("resource_id") is None
    assert any("organisation_mismatch" in error for error in stored["errors"])
    assert "acme" not in str(stored)


def test_an_update_written_for_another_organisation_is_refused_by_its_condition(
    alpha_session: dict[str, Any],
) -> None:
    # Given alpha's session as read back, and an update staged by beta around matching (a defect)
    repo = sessions()
    stored = repo.get_session(EVENT_ID, 1)
    assert stored is not None
    change = SessionChange(stored, {"name": "Beta was here"}, T0 + timedelta(minutes=5), None, "beta")
    uow = DynamoUnitOfWork(sleep=lambda _: None)
    uow.add("session", repo.update_session(change, T0 + timedelta(minutes=5)))
    # When it is committed / Then DynamoDB refuses it, and the session is unchanged
    assert isinstance(uow.commit(), ConditionFailed)
    assert stored_sessions() == [alpha_session]
    # And the same update for alpha's own organisation goes through
    own = DynamoUnitOfWork(sleep=lambda _: None)
    own.add(
        "session", repo.update_session(change.__class__(**{**change.__dict__, "organisation": "acme"}), T0)
    )
    assert isinstance(own.commit(), Committed)


def test_a_claim_write_for_another_organisation_is_refused_by_its_condition(
    alpha_session: dict[str, Any],
) -> None:
    # Given alpha's uid claim as read back
    repo = sessions()
    claim = repo.get_claim(EVENT_ID, ALPHA_UID)
    assert claim is not None
    assert claim.organisation == "acme"
    # When beta tries to join it, or to delete it
    for holders in ((1, 7), ()):
        uow = DynamoUnitOfWork(sleep=lambda _: None)
        uow.add("claim", repo.write_claim(EVENT_ID, "beta", ClaimWrite(ALPHA_UID, claim, holders), T0))
        # Then each write is refused and the claim stays alpha's
        assert isinstance(uow.commit(), ConditionFailed)
    assert repo.get_claim(EVENT_ID, ALPHA_UID) == claim
