"""Concurrent deliveries against a moto server (in-process mock_aws is not thread-safe, see DESIGN.md)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from ingestctl.local.template import CreatedResources
from session_ingest.adapters.aws import client
from session_ingest.envelope import IngestEnvelope
from session_ingest.errors import TransientFailure
from session_ingest.service.process import ProcessResult, ProcessStatus
from tests.support.consumer import (
    at,
    deliver,
    make_envelope,
    outcome,
    queue_request,
    sessions,
    stored_sessions,
)

RACERS = 20
MAX_DELIVERIES = 5  # the template's maxReceiveCount


def _deliver_until_done(envelope: IngestEnvelope, start: threading.Barrier) -> ProcessResult:
    """Deliver like SQS: a delivery that fails transiently is redelivered (up to maxReceiveCount)."""
    start.wait()
    for receive_count in range(1, MAX_DELIVERIES + 1):
        try:
            return deliver(envelope, receive_count=receive_count)
        except TransientFailure:
            continue
    raise AssertionError(f"{envelope.request_id} was not processed in {MAX_DELIVERIES} deliveries")


def test_twenty_messages_racing_to_create_one_new_uid_create_exactly_one_session(
    moto_server: CreatedResources,
) -> None:
    # Given twenty queued requests carrying the same organisation uid, which no session holds yet
    envelopes = [
        make_envelope({"organisation_uid": "race-1", "name": f"name {i}"}, accepted_at=at(i))
        for i in range(RACERS)
    ]
    for envelope in envelopes:
        queue_request(envelope)
    client("dynamodb")  # one shared client, created before the threads
    start = threading.Barrier(RACERS)
    # When twenty consumers process them at the same moment
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        results = list(pool.map(lambda envelope: _deliver_until_done(envelope, start), envelopes))
    # Then exactly one session exists, created by one request and updated by the others
    stored = stored_sessions()
    assert len(stored) == 1
    assert sorted(result.status for result in results).count(ProcessStatus.CREATED) == 1
    assert {result.resource_id for result in results} == {stored[0]["resource_id"]}
    assert all(outcome(envelope.request_id)["status"] == "processed" for envelope in envelopes)
    # And the uid's claim names that one session, and the newest name won
    claim = sessions().get_claim(42, "race-1")
    assert claim is not None
    assert len(claim.holders) == 1
    assert stored[0]["name"] == f"name {RACERS - 1}"
