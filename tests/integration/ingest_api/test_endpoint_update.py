"""`ingestctl endpoint update` (contract §9): in place, validated as on create, versioned, applied by the API
within its config cache TTL; and an event belongs to exactly one organisation (contract §3)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from ingestctl.admin.endpoints import (
    ConfigurationConflict,
    CreatedEndpoint,
    EndpointChanges,
    create_endpoint,
    create_token,
    get_endpoint,
    list_endpoints,
    update_endpoint,
)
from ingestctl.cli import app
from ingestctl.commands.failures import EXIT_BAD_INPUT, EXIT_FAILED
from ingestctl.local.template import CreatedResources
from session_ingest import limits
from session_ingest.adapters.endpoint_store import ConfigChanged, EndpointStore, event_owner_key
from tests.fixtures import reference_session_payload
from tests.support.aws_calls import InjectedErrors, injected_errors
from tests.support.ingest_api import ApiClient, FakeClock


def ingestctl(*args: str) -> tuple[int, Any, str]:
    """Exit code, stdout (parsed when the command succeeded) and stderr of one command."""
    result = CliRunner().invoke(app, list(args))
    stdout = json.loads(result.stdout) if result.exit_code == 0 else result.stdout
    return result.exit_code, stdout, result.stderr


def _file(tmp_path: Path, name: str, document: Any) -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


TITLE_MAPPING = {"root_key": "item", "fields": {"name": "title"}}


def test_an_update_keeps_the_id_and_tokens_and_raises_the_config_version(
    api: ApiClient, endpoint: CreatedEndpoint
) -> None:
    # Given an endpoint at its first configuration
    assert get_endpoint(api.endpoint_id)["config_version"] == 1
    # When its rate limit is updated
    code, updated, _ = ingestctl("endpoint", "update", api.endpoint_id, "--rate-limit", "7")
    # Then it is the same endpoint with the same token, one version on, and show says so
    assert code == 0
    assert (updated["endpoint_id"], updated["rate_limit_per_minute"], updated["config_version"]) == (
        api.endpoint_id,
        7,
        2,
    )
    assert [token["token_id"] for token in updated["tokens"]] == [endpoint["token_id"]]
    assert updated["updated_at"] is not None
    assert ingestctl("endpoint", "show", api.endpoint_id)[1]["config_version"] == 2


def test_a_new_rate_limit_reaches_the_api_within_the_cache_ttl(api: ApiClient, clock: FakeClock) -> None:
    # Given an endpoint cached by a warm Lambda at the default limit
    assert api.post(reference_session_payload()).headers["RateLimit-Limit"] == "120"
    # When the operator lowers its rate limit
    assert ingestctl("endpoint", "update", api.endpoint_id, "--rate-limit", "5")[0] == 0
    # Then the cached limit holds until the TTL, and the new one applies from then on (< 60 s)
    clock.advance(limits.CONFIG_CACHE_SECONDS - 1)
    before = api.post(reference_session_payload()).headers["RateLimit-Limit"]
    clock.advance(1)
    after = api.post(reference_session_payload()).headers["RateLimit-Limit"]
    assert (before, after) == ("120", "5")
    assert limits.CONFIG_CACHE_SECONDS < 60


def test_a_new_mapping_reaches_the_api_within_the_cache_ttl(
    api: ApiClient, clock: FakeClock, tmp_path: Path
) -> None:
    # Given an endpoint with the default mapping, cached, refusing an integrator's own shape
    payload = {"item": {"organisation_uid": "U-1", "title": "Keynote"}}
    assert api.post(payload, dry_run=True).status == 422
    # When the operator gives it a mapping for that shape
    code, _, _ = ingestctl(
        "endpoint", "update", api.endpoint_id, "--mapping", _file(tmp_path, "m.json", TITLE_MAPPING)
    )
    assert code == 0
    # Then once the cache TTL has passed the payload maps, title to name
    clock.advance(limits.CONFIG_CACHE_SECONDS)
    answer = api.post(payload, dry_run=True)
    assert answer.status == 200, answer.body
    assert answer.body["record"]["name"] == "Keynote"


@pytest.mark.parametrize(
    ("option", "document", "message"),
    [
        pytest.param("--mapping", "{", "invalid JSON in mapping file", id="mapping-not-json"),
        pytest.param(
            "--mapping", {"fields": {"nonsense": "x"}}, "invalid mapping", id="mapping-unknown-target"
        ),
        pytest.param("--schema", {"type": "no-such-type"}, "invalid JSON Schema", id="schema-invalid"),
        pytest.param("--schema", "[1,", "invalid JSON in schema file", id="schema-not-json"),
    ],
)
def test_a_bad_mapping_or_schema_is_refused_as_on_create_and_nothing_changes(
    api: ApiClient, tmp_path: Path, option: str, document: Any, message: str
) -> None:
    # Given an endpoint at version 1
    before = get_endpoint(api.endpoint_id)
    # When it is updated with an unusable file
    code, stdout, stderr = ingestctl(
        "endpoint", "update", api.endpoint_id, option, _file(tmp_path, "f", document)
    )
    # Then the update is bad input, stderr says why in one line, and the endpoint is as it was
    assert (code, stdout) == (EXIT_BAD_INPUT, "")
    assert message in stderr
    assert stderr.strip().count("\n") == 0
    assert get_endpoint(api.endpoint_id) == before


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="nothing-to-change"),
        pytest.param(["--mapping", "m.json", "--clear-mapping"], id="mapping-and-clear"),
        pytest.param(["--schema", "s.json", "--clear-schema"], id="schema-and-clear"),
        pytest.param(["--rate-limit", "0"], id="rate-limit-below-one"),
    ],
)
def test_contradictory_or_empty_updates_are_usage_errors(api: ApiClient, args: list[str]) -> None:
    # When an update gives nothing to change, or a setting and its clearing together
    code, _, _ = ingestctl("endpoint", "update", api.endpoint_id, *args)
    # Then it is refused as bad input and nothing changes
    assert code == EXIT_BAD_INPUT
    assert get_endpoint(api.endpoint_id)["config_version"] == 1


def test_clearing_a_schema_and_a_mapping_restores_the_defaults(deps: Any, tmp_path: Path) -> None:
    # Given an endpoint created with a mapping and a schema
    _, created, _ = ingestctl(
        "endpoint",
        "create",
        "--org",
        "acme",
        "--event-id",
        "42",
        "--mapping",
        _file(tmp_path, "m.json", TITLE_MAPPING),
        "--schema",
        _file(tmp_path, "s.json", {"type": "object"}),
    )
    # When both are cleared
    code, updated, _ = ingestctl(
        "endpoint", "update", created["endpoint_id"], "--clear-mapping", "--clear-schema"
    )
    # Then the endpoint has the default mapping and no schema
    assert code == 0
    assert updated["json_schema"] is None
    assert updated["mapping"]["root_key"] == "session"
    assert updated["mapping"]["fields"] == {}


def test_an_update_of_an_unknown_endpoint_fails(aws: CreatedResources) -> None:
    # When an endpoint that does not exist is updated
    code, _, stderr = ingestctl("endpoint", "update", "no-such-endpoint", "--rate-limit", "5")
    # Then it fails, naming it
    assert code == EXIT_FAILED
    assert stderr.startswith("ingestctl endpoint update: no endpoint no-such-endpoint")


def test_an_update_based_on_a_stale_version_is_refused(api: ApiClient) -> None:
    # Given an operator who read version 1 while another operator moved it to version 2
    stale = EndpointStore().load(api.endpoint_id)
    assert stale is not None
    assert ingestctl("endpoint", "update", api.endpoint_id, "--rate-limit", "9")[0] == 0
    # When the first operator's change is written against version 1
    change = stale.config.model_copy(update={"rate_limit_per_minute": 3, "config_version": 2})
    # Then the store refuses it, and the second operator's change stands
    with pytest.raises(ConfigChanged):
        EndpointStore().update_settings(change, expected_version=1)
    assert get_endpoint(api.endpoint_id)["rate_limit_per_minute"] == 9


def test_a_second_organisation_on_an_event_is_refused(api: ApiClient) -> None:
    # Given event 42 in use by organisation acme (the `api` endpoint)
    # When another organisation asks for an endpoint on the same event
    code, stdout, stderr = ingestctl("endpoint", "create", "--org", "globex", "--event-id", "42")
    # Then it is refused with a clear error, and no endpoint is created
    assert (code, stdout) == (EXIT_FAILED, "")
    assert "event 42 belongs to organisation 'acme'" in stderr
    assert [view["organisation"] for view in ingestctl("endpoint", "list")[1]] == ["acme"]


def test_the_same_organisation_may_have_several_endpoints_on_its_event(api: ApiClient) -> None:
    # When acme creates a second endpoint on its event 42
    code, created, _ = ingestctl("endpoint", "create", "--org", "acme", "--event-id", "42")
    # Then it is created
    assert code == 0
    assert get_endpoint(created["endpoint_id"])["event_id"] == 42


def test_an_endpoint_stored_before_event_owners_claims_its_event_when_updated(
    api: ApiClient, aws: CreatedResources
) -> None:
    # Given an endpoint whose event has no owner item (stored by an older version)
    dynamodb = boto3.client("dynamodb")
    dynamodb.delete_item(TableName=aws.tables["EndpointsTable"], Key=event_owner_key(42))
    # When it is updated
    assert ingestctl("endpoint", "update", api.endpoint_id, "--rate-limit", "9")[0] == 0
    # Then the event is its organisation's again, and another organisation is refused
    owner = dynamodb.get_item(TableName=aws.tables["EndpointsTable"], Key=event_owner_key(42))["Item"]
    assert owner["organisation"] == {"S": "acme"}
    assert ingestctl("endpoint", "create", "--org", "globex", "--event-id", "42")[0] == EXIT_FAILED


def test_endpoint_list_shows_endpoints_only_not_event_owners(api: ApiClient) -> None:
    # Given an endpoint (and so an event owner item in the same table)
    # When endpoints are listed
    _, listed, _ = ingestctl("endpoint", "list")
    # Then only the endpoint is listed
    assert [view["endpoint_id"] for view in listed] == [api.endpoint_id]


@pytest.fixture
def contended() -> Iterator[InjectedErrors]:
    """Every TransactWriteItems of the service's DynamoDB client cancelled for contention (another writer
    on the same items, as DynamoDB reports it)."""
    cancelled = {
        "Error": {"Code": "TransactionCanceledException", "Message": "injected"},
        "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}],
    }
    with injected_errors("dynamodb", "TransactWriteItems", cancelled) as cancel:
        yield cancel


# Each write of the endpoints table an operator makes, against an existing endpoint.
ENDPOINT_WRITES: dict[str, Callable[[str], object]] = {
    "endpoint create": lambda _: create_endpoint("acme", 42),
    "endpoint update": lambda endpoint_id: update_endpoint(
        endpoint_id, EndpointChanges(rate_limit_per_minute=9)
    ),
    "token create": create_token,
}


@pytest.mark.parametrize("write", ENDPOINT_WRITES)
def test_a_write_other_writers_keep_cancelling_is_retried_then_refused_storing_nothing(
    api: ApiClient, contended: InjectedErrors, write: str
) -> None:
    # Given an endpoint, and DynamoDB cancelling every transaction on the endpoints table for contention
    before = get_endpoint(api.endpoint_id)
    # When an operator's command writes to it
    with pytest.raises(ConfigurationConflict, match=r"try again$"):
        ENDPOINT_WRITES[write](api.endpoint_id)
    # Then the write was retried, then refused asking to try again, and nothing changed
    assert contended.calls == limits.TRANSACTION_CONFLICT_RETRIES + 1
    assert get_endpoint(api.endpoint_id) == before
    assert [view["endpoint_id"] for view in list_endpoints()] == [api.endpoint_id]
