"""Listing an endpoint's requests (contract §9): `GET …/{endpoint_id}/requests` and `ingestctl requests
list` answer `{"requests": [outcome, …], "next": cursor|null}`, newest first, from EndpointRequestsIndex."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from ingestctl.admin.endpoints import create_endpoint
from ingestctl.cli import app
from ingestctl.commands.failures import EXIT_BAD_INPUT, EXIT_FAILED
from session_ingest import limits
from session_ingest.adapters import request_ledger
from session_ingest.domain.request_listing import ListingPosition, encode_cursor
from session_ingest.service.dependencies import IngestDependencies
from tests.fixtures import reference_session_payload
from tests.support.ingest_api import ApiClient, FakeClock


def _accept(api: ApiClient, clock: FakeClock, count: int) -> list[str]:
    """`count` accepted requests, one second apart (oldest first)."""
    ids = []
    for _ in range(count):
        answer = api.post(reference_session_payload())
        assert answer.status == 200, answer.body
        ids.append(answer.body["request_id"])
        clock.advance(1)
    return ids


def _pages(api: ApiClient, **query: str) -> list[list[str]]:
    """Every page of a listing, following `next` to the end, as request ids."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        answer = api.list_requests(**query, **({"cursor": cursor} if cursor else {}))
        assert answer.status == 200, answer.body
        pages.append([outcome["request_id"] for outcome in answer.body["requests"]])
        cursor = answer.body["next"]
        if cursor is None:
            return pages


def ingestctl(*args: str) -> tuple[int, Any, str]:
    result = CliRunner().invoke(app, list(args))
    return (
        result.exit_code,
        json.loads(result.stdout) if result.exit_code == 0 else result.stdout,
        result.stderr,
    )


def test_requests_are_listed_newest_first_as_their_outcomes(api: ApiClient, clock: FakeClock) -> None:
    # Given three accepted requests
    ids = _accept(api, clock, 3)
    # When the integrator lists them
    answer = api.list_requests()
    # Then they come newest first, each as its own outcome lookup shows it, with no next page
    assert answer.status == 200
    assert [outcome["request_id"] for outcome in answer.body["requests"]] == ids[::-1]
    assert answer.body["requests"][0] == api.get_outcome(ids[-1]).body
    assert answer.body["next"] is None
    assert answer.headers["RateLimit-Limit"] == "120"


def test_a_listing_pages_through_every_request_once(api: ApiClient, clock: FakeClock) -> None:
    # Given five accepted requests
    ids = _accept(api, clock, 5)
    # When they are listed two at a time, following `next`
    pages = _pages(api, limit="2")
    # Then the pages hold every request once, newest first
    assert pages == [ids[4:2:-1], ids[2:0:-1], ids[:1]]


def test_a_status_filter_lists_only_that_status(
    api: ApiClient, clock: FakeClock, deps: IngestDependencies
) -> None:
    # Given four requests, two of which failed
    ids = _accept(api, clock, 4)
    for request_id in (ids[0], ids[2]):
        assert deps.ledger.mark_not_queued(request_id, "not queued")
    # When the failed and the queued ones are listed
    failed = _pages(api, status="failed")
    queued = _pages(api, status="queued")
    # Then each listing holds exactly its status, newest first
    assert [request_id for page in failed for request_id in page] == [ids[2], ids[0]]
    assert [request_id for page in queued for request_id in page] == [ids[3], ids[1]]


def test_a_filter_skipping_many_requests_returns_short_pages_that_still_reach_every_match(
    api: ApiClient, clock: FakeClock, deps: IngestDependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one failed request under many newer queued ones, and a listing allowed one index read per page
    ids = _accept(api, clock, 7)
    assert deps.ledger.mark_not_queued(ids[0], "not queued")
    monkeypatch.setattr(limits, "MAX_LISTING_READS", 1)
    # When the failed requests are listed two at a time
    pages = _pages(api, status="failed", limit="2")
    # Then the first pages are short (empty) but carry a cursor, and following it finds the failed one
    assert len(pages) > 1
    assert pages[0] == []
    assert [request_id for page in pages for request_id in page] == [ids[0]]


def test_since_lists_requests_accepted_at_or_after_it(api: ApiClient, clock: FakeClock) -> None:
    # Given three requests a second apart
    first = api.post(reference_session_payload()).body["request_id"]
    clock.advance(1)
    since = api.get_outcome(first).body["accepted_at"]
    clock.advance(1)
    later = _accept(api, clock, 2)
    # When the requests since just after the first are listed
    answer = api.list_requests(since=since.replace(".000000Z", ".000001Z"))
    # Then only the later two are
    assert [outcome["request_id"] for outcome in answer.body["requests"]] == later[::-1]


def test_a_cursor_older_than_since_ends_the_listing_instead_of_failing(
    api: ApiClient, clock: FakeClock
) -> None:
    # Given a cursor into the older requests, taken without a `since`
    ids = _accept(api, clock, 3)
    cursor = api.list_requests(limit="2").body["next"]
    newest = api.get_outcome(ids[-1]).body["accepted_at"]
    # When it is used with a `since` later than its position (DynamoDB refuses such a start key)
    answer = api.list_requests(cursor=cursor, since=newest)
    # Then the listing simply has nothing more
    assert (answer.status, answer.body) == (200, {"requests": [], "next": None})


def test_a_listing_never_shows_another_endpoints_requests(
    api: ApiClient, clock: FakeClock, deps: IngestDependencies
) -> None:
    # Given requests of this endpoint and of another endpoint of the same event
    mine = _accept(api, clock, 2)
    other = create_endpoint("acme", 42, clock=clock)
    other_api = ApiClient(other["endpoint_id"], other["token"])
    theirs = _accept(other_api, clock, 2)
    # When each endpoint lists its requests
    # Then each sees only its own
    assert _pages(api) == [mine[::-1]]
    assert _pages(other_api) == [theirs[::-1]]
    # And one endpoint's token does not list the other's requests
    assert api.list_requests(endpoint_id=other["endpoint_id"]).status == 401


def test_a_cursor_of_another_endpoint_is_a_400(api: ApiClient, clock: FakeClock) -> None:
    # Given a cursor taken from another endpoint's listing
    other = create_endpoint("acme", 42, clock=clock)
    other_api = ApiClient(other["endpoint_id"], other["token"])
    _accept(other_api, clock, 3)
    cursor = other_api.list_requests(limit="1").body["next"]
    assert cursor is not None
    # When this endpoint's listing is given it
    answer = api.list_requests(cursor=cursor)
    # Then it is refused as a bad query, naming the cursor
    assert answer.status == 400
    assert answer.body["error_type"] == "invalid_query"
    assert answer.body["errors"].startswith("cursor:")


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"status": "done"}, id="unknown-status"),
        pytest.param({"since": "yesterday"}, id="since-not-a-time"),
        pytest.param({"limit": "0"}, id="limit-zero"),
        pytest.param({"limit": "many"}, id="limit-not-a-number"),
        pytest.param({"limit": str(limits.MAX_REQUESTS_PAGE + 1)}, id="limit-too-big"),
        pytest.param({"cursor": "tampered.cursor"}, id="cursor-made-up"),
    ],
)
def test_an_unusable_parameter_is_a_400_not_a_500(api: ApiClient, query: dict[str, str]) -> None:
    # When the listing is asked with a parameter it cannot use
    answer = api.list_requests(**query)
    # Then it is a 400 invalid_query saying which parameter
    assert answer.status == 400
    assert answer.body == {
        "message": "Invalid",
        "success": False,
        "error_type": "invalid_query",
        "errors": answer.body["errors"],
    }
    assert answer.body["errors"].split(":")[0] == next(iter(query))


def test_an_altered_cursor_of_this_endpoint_is_a_400(api: ApiClient, clock: FakeClock) -> None:
    # Given a real cursor of this endpoint, with one character changed
    _accept(api, clock, 3)
    cursor = api.list_requests(limit="1").body["next"]
    altered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    # When it is used
    # Then it is refused, never passed to DynamoDB
    assert api.list_requests(cursor=altered).status == 400


def test_listing_spends_no_rate_limit_units(deps: IngestDependencies, clock: FakeClock) -> None:
    # Given an endpoint allowed 2 requests a minute, one spent
    created = create_endpoint("acme", 42, rate_limit_per_minute=2, clock=clock)
    api = ApiClient(created["endpoint_id"], created["token"])
    assert api.post(reference_session_payload()).status == 200
    # When its requests are listed several times in the same window
    assert [api.list_requests().status for _ in range(4)] == [200] * 4
    # Then the second unit is still there for a payload
    assert api.post(reference_session_payload()).status == 200


def test_listing_without_a_valid_token_is_a_401(api: ApiClient) -> None:
    assert api.list_requests(token="sit_not_a_token").status == 401
    assert api.list_requests(token=None).status == 401


def test_the_listing_reads_the_index_and_never_scans(
    api: ApiClient, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given accepted requests, and the ledger's DynamoDB calls recorded
    _accept(api, clock, 2)
    calls: list[tuple[str, str | None]] = []
    from session_ingest.adapters.aws import client as real

    def recording(name: str) -> Any:
        shared = real(name)
        shared.meta.events.register(
            "before-parameter-build.dynamodb",
            lambda params, model, **_: calls.append((model.name, params.get("IndexName"))),
            unique_id="listing-test",
        )
        return shared

    monkeypatch.setattr(request_ledger, "client", recording)
    # When the requests are listed
    assert api.list_requests(status="queued").status == 200
    # Then the ledger made one Query of EndpointRequestsIndex, and no scan
    assert calls == [("Query", "EndpointRequestsIndex")]


def test_ingestctl_requests_list_answers_as_the_http_listing(api: ApiClient, clock: FakeClock) -> None:
    # Given accepted requests
    _accept(api, clock, 3)
    # When the operator lists them, two at a time
    code, listed, _ = ingestctl("requests", "list", "--endpoint-id", api.endpoint_id, "--limit", "2")
    # Then the document is the integrator's, cursor included, and the cursor works over HTTP too
    assert code == 0
    assert listed == api.list_requests(limit="2").body
    assert api.list_requests(cursor=listed["next"]).status == 200


def test_ingestctl_requests_list_refuses_bad_parameters_and_unknown_endpoints(api: ApiClient) -> None:
    code, _, stderr = ingestctl("requests", "list", "--endpoint-id", api.endpoint_id, "--status", "done")
    assert code == EXIT_BAD_INPUT
    assert stderr.startswith("ingestctl requests list: --status: must be one of")
    forged = encode_cursor(
        api.endpoint_id + "x", ListingPosition("2026-01-01T00:00:00.000000Z", api.endpoint_id)
    )
    assert (
        ingestctl("requests", "list", "--endpoint-id", api.endpoint_id, "--cursor", forged)[0]
        == EXIT_BAD_INPUT
    )
    assert ingestctl("requests", "list", "--endpoint-id", "no-such-endpoint")[0] == EXIT_FAILED


def test_the_config_version_a_request_was_accepted_under_is_on_its_outcome(
    api: ApiClient, clock: FakeClock
) -> None:
    # Given a request accepted under version 1, then the endpoint updated and a request accepted under 2
    (first,) = _accept(api, clock, 1)
    assert ingestctl("endpoint", "update", api.endpoint_id, "--rate-limit", "60")[0] == 0
    clock.advance(limits.CONFIG_CACHE_SECONDS)
    (second,) = _accept(api, clock, 1)
    # When the operator looks at both with --details
    versions = [
        ingestctl("requests", "get", rid, "--details")[1]["config_version"] for rid in (first, second)
    ]
    # Then each shows its version, while the integrator's view keeps its documented keys
    assert versions == [1, 2]
    assert "config_version" not in api.get_outcome(second).body
