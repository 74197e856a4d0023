"""A 200 never ends in the DLQ because a session outgrows DynamoDB's item size (contract §4, §6).

Each request alone fits; two filling different long-text fields would make a session item over 400 KB.
moto raised a plain ValidationException for that item, which was retried five times into the DLQ; real
DynamoDB reports a ValidationError cancellation, which was taken for a lost race. The consumer now
budgets the merged session before writing and fails the request as `record_too_large`.
"""

from __future__ import annotations

from datetime import timedelta

from ingestctl.local.template import CreatedResources
from session_ingest import limits
from session_ingest.service.process import ProcessStatus
from tests.support.consumer import T0, accept_and_deliver, make_envelope, outcome, stored_sessions

# 65,535 three-byte characters: about 196 KB each, within every rule of its field.
LONG_TEXT = "€" * limits.MAX_MULTI_LINE_TEXT_CHARS


def test_a_merge_that_would_outgrow_an_item_fails_as_record_too_large_and_changes_nothing(
    aws: CreatedResources,
) -> None:
    # Given a session holding one long text
    first = accept_and_deliver(make_envelope({"organisation_uid": "big-1", "description": LONG_TEXT}))
    assert first.status is ProcessStatus.CREATED
    [before] = stored_sessions()
    # When a later request fills another long-text field of it
    later = make_envelope(
        {"organisation_uid": "big-1", "card_content": LONG_TEXT}, accepted_at=T0 + timedelta(minutes=1)
    )
    result = accept_and_deliver(later)
    # Then it fails at once (consumed, not retried into the DLQ) with its failure kind and reason
    assert result.status is ProcessStatus.FAILED
    stored = outcome(later.request_id)
    assert (stored["status"], stored["failure_kind"]) == ("failed", "record_too_large")
    assert stored["errors"][0].startswith("record_too_large:")
    # And the session is as it was
    assert stored_sessions() == [before]


def test_a_record_too_large_on_its_own_fails_before_any_write(aws: CreatedResources) -> None:
    # Given a message (from before the accept-time budget, or sent to the queue directly) whose record
    # alone could never be stored
    envelope = make_envelope(
        {"description": LONG_TEXT, "card_content": LONG_TEXT, "eventapp_promo_text": LONG_TEXT}
    )
    # When it is processed / Then it fails as record_too_large and nothing is stored
    assert accept_and_deliver(envelope).status is ProcessStatus.FAILED
    assert outcome(envelope.request_id)["failure_kind"] == "record_too_large"
    assert stored_sessions() == []
