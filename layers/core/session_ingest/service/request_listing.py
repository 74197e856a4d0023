"""An endpoint's requests, newest first (contract §9): `ingestctl requests list` and
`GET …/{endpoint_id}/requests` answer the same document, `{"requests": [outcome, …], "next": cursor|null}`.
"""

from __future__ import annotations

from typing import Any

from session_ingest.domain.request_listing import ListingPage, ListingQuery, encode_cursor
from session_ingest.service.ports import RequestLedgerPort
from session_ingest.service.request_outcomes import outcome_view


def listing_view(query: ListingQuery, page: ListingPage) -> dict[str, Any]:
    """The page as JSON: each outcome as `GET …/requests/{id}` shows it, and the opaque cursor."""
    return {
        "requests": [outcome_view(outcome) for outcome in page.outcomes],
        "next": None if page.next is None else encode_cursor(query.endpoint_id, page.next),
    }


def list_requests(ledger: RequestLedgerPort, query: ListingQuery) -> dict[str, Any]:
    """One page of the endpoint's requests (no scan: the ledger reads EndpointRequestsIndex)."""
    return listing_view(query, ledger.list_for_endpoint(query))
