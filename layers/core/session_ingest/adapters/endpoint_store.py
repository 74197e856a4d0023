"""Endpoint configuration and token hashes in the endpoints table, and the warm-Lambda cache over them.

One item collection per endpoint (pk=ENDPOINT#<id>): sk=CONFIG holds the configuration, each
sk=TOKEN#<token_id> one token's hash, expiry and revocation. A single Query therefore reads everything
the API needs to authenticate a request. `mapping` and `json_schema` are stored as JSON text: a JSON
Schema may hold floats and arbitrarily nested keys that DynamoDB's typed maps would distort.

An event belongs to one organisation (contract §3): pk=EVENT#<event_id> sk=OWNER names it. Every create
and update of an endpoint puts that item, conditioned on it being absent or naming the same
organisation, in the same transaction as the endpoint: a key-addressed guard, not a read, so two
operators racing to give one event to two organisations cannot both win.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from session_ingest import limits
from session_ingest.adapters.aws import client
from session_ingest.adapters.dynamodb_items import from_item, to_attribute, to_item
from session_ingest.adapters.unit_of_work import DynamoUnitOfWork
from session_ingest.domain.models import EndpointConfig
from session_ingest.domain.tokens import IssuedToken, StoredToken
from session_ingest.domain.utc import format_utc, parse_utc
from session_ingest.service.ports import ConditionFailed, Exhausted
from session_ingest.settings import get_settings

CONFIG_SK = "CONFIG"
OWNER_SK = "OWNER"
# The named items of the endpoint's transactions (adapters/unit_of_work.py).
CONFIG_ITEM = "config"
TOKEN_ITEM = "token"  # noqa: S105 - an item name, not a secret
OWNER_ITEM = "owner"
TOKEN_SK_PREFIX = "TOKEN#"  # noqa: S105 - a key prefix, not a secret
TOKEN_ID_INDEX = "TokenIdIndex"  # noqa: S105 - an index name


def endpoint_pk(endpoint_id: str) -> str:
    return f"ENDPOINT#{endpoint_id}"


def event_owner_key(event_id: int) -> dict[str, Any]:
    return {"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": OWNER_SK}}


@dataclass(frozen=True)
class StoredEndpoint:
    """An endpoint's configuration with its tokens by token id."""

    config: EndpointConfig
    tokens: Mapping[str, StoredToken] = field(default_factory=dict)


class EndpointAlreadyExists(Exception):
    pass


class UnknownEndpoint(Exception):
    pass


class UnknownToken(Exception):
    pass


@dataclass
class EventOwnedElsewhere(Exception):
    """The event already belongs to another organisation."""

    event_id: int
    owner: str


class StoreBusy(Exception):
    """Another transaction touched the same items at the same moment; retrying is safe."""


@dataclass
class ConfigChanged(Exception):
    """The endpoint's configuration is no longer at the version the update was based on."""

    endpoint_id: str
    expected_version: int


def _config_item(config: EndpointConfig) -> dict[str, Any]:
    return to_item(
        {
            "pk": endpoint_pk(config.endpoint_id),
            "sk": CONFIG_SK,
            "endpoint_id": config.endpoint_id,
            "endpoint_type": config.endpoint_type.value,
            "organisation": config.organisation,
            "event_id": config.event_id,
            "mapping": config.mapping.model_dump_json(),
            "json_schema": None if config.json_schema is None else json.dumps(config.json_schema),
            "rate_limit_per_minute": config.rate_limit_per_minute,
            "enabled": config.enabled,
            "created_at": format_utc(config.created_at),
            "config_version": config.config_version,
            "updated_at": None if config.updated_at is None else format_utc(config.updated_at),
        }
    )


def event_owner_put(table: str, event_id: int, organisation: str) -> dict[str, Any]:
    """A transaction item claiming the event for `organisation`, or confirming its claim (never moving
    it): whatever is created for an event (an endpoint, a location) is written together with this."""
    return {
        "Put": {
            "TableName": table,
            "Item": {
                **event_owner_key(event_id),
                **to_item({"event_id": event_id, "organisation": organisation}),
            },
            "ConditionExpression": "attribute_not_exists(pk) OR organisation = :organisation",
            "ExpressionAttributeValues": {":organisation": {"S": organisation}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _owner_put(table: str, config: EndpointConfig) -> dict[str, Any]:
    return event_owner_put(table, config.event_id, config.organisation)


def _settings_update(table: str, config: EndpointConfig, expected_version: int) -> dict[str, Any]:
    """Replace the request-shaping settings if the stored version is still `expected_version`."""
    values = {
        ":mapping": to_attribute(config.mapping.model_dump_json()),
        ":rate": to_attribute(config.rate_limit_per_minute),
        ":version": to_attribute(config.config_version),
        ":expected": to_attribute(expected_version),
        ":updated_at": to_attribute(format_utc(config.updated_at or config.created_at)),
    }
    assignments = [
        "mapping = :mapping",
        "rate_limit_per_minute = :rate",
        "config_version = :version",
        "updated_at = :updated_at",
    ]
    removals = []
    if config.json_schema is None:
        removals.append("json_schema")
    else:
        assignments.append("json_schema = :schema")
        values[":schema"] = to_attribute(json.dumps(config.json_schema))
    # Endpoints stored before versions were kept have none: they are at version 1.
    unversioned = " OR attribute_not_exists(config_version)" if expected_version == 1 else ""
    expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": endpoint_pk(config.endpoint_id)}, "sk": {"S": CONFIG_SK}},
            "UpdateExpression": expression,
            "ConditionExpression": f"attribute_exists(pk) AND (config_version = :expected{unversioned})",
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _commit(uow: DynamoUnitOfWork) -> ConditionFailed | None:
    """Commit; the failed conditions, if any. Contention past the unit of work's retries is StoreBusy."""
    result = uow.commit()
    if isinstance(result, Exhausted):
        raise StoreBusy(", ".join(f"{name}: {reason}" for name, reason in sorted(result.reasons.items())))
    return result if isinstance(result, ConditionFailed) else None


def owner_refusal(failed: ConditionFailed, event_id: int) -> EventOwnedElsewhere | None:
    """The refusal a failed `event_owner_put` (named OWNER_ITEM) means: the event's other owner, as stored."""
    if not failed.on(OWNER_ITEM):
        return None
    return EventOwnedElsewhere(event_id, str((failed.item(OWNER_ITEM) or {}).get("organisation", "?")))


def _token_item(
    endpoint_id: str, token: IssuedToken, created_at: datetime, expires_at: datetime | None
) -> Any:
    return to_item(
        {
            "pk": endpoint_pk(endpoint_id),
            "sk": TOKEN_SK_PREFIX + token.token_id,
            "endpoint_id": endpoint_id,
            "token_id": token.token_id,
            "secret_hash": token.secret_hash,
            "created_at": format_utc(created_at),
            "expires_at": None if expires_at is None else format_utc(expires_at),
            "revoked": False,
        }
    )


def _config_from(values: dict[str, Any]) -> EndpointConfig:
    schema = values.get("json_schema")
    return EndpointConfig.model_validate(
        {
            "endpoint_id": values["endpoint_id"],
            "endpoint_type": values["endpoint_type"],
            "organisation": values["organisation"],
            "event_id": values["event_id"],
            "mapping": json.loads(values["mapping"]),
            "json_schema": None if schema is None else json.loads(schema),
            "rate_limit_per_minute": values["rate_limit_per_minute"],
            "enabled": values["enabled"],
            "created_at": parse_utc(values["created_at"]),
            "config_version": values.get("config_version", 1),
            "updated_at": parse_utc(values["updated_at"]) if values.get("updated_at") else None,
        }
    )


def _token_from(values: dict[str, Any]) -> StoredToken:
    expires_at = values.get("expires_at")
    return StoredToken(
        token_id=values["token_id"],
        secret_hash=values["secret_hash"],
        created_at=parse_utc(values["created_at"]),
        expires_at=None if expires_at is None else parse_utc(expires_at),
        revoked=bool(values.get("revoked", False)),
    )


def _endpoint_from(items: list[dict[str, Any]]) -> StoredEndpoint | None:
    config: EndpointConfig | None = None
    tokens: dict[str, StoredToken] = {}
    for values in items:
        if values["sk"] == CONFIG_SK:
            config = _config_from(values)
        elif values["sk"].startswith(TOKEN_SK_PREFIX):
            token = _token_from(values)
            tokens[token.token_id] = token
    return None if config is None else StoredEndpoint(config, tokens)


class EndpointStore:
    """Reads and writes of the endpoints table."""

    @property
    def _table(self) -> str:
        return get_settings().endpoints_table

    def load(self, endpoint_id: str) -> StoredEndpoint | None:
        """The endpoint with all its tokens (a strongly consistent Query, one page in practice), or None.

        Pages are followed here rather than by botocore's paginator: the API's first request reads an
        endpoint, and a client's first paginator loads its paginator model and lists botocore's whole
        data directory again, ~9 ms of every cold start (`make bench-cold-start`).
        """
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": endpoint_pk(endpoint_id)}},
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            page = client("dynamodb").query(**query)
            items.extend(from_item(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return _endpoint_from(items)
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def create(self, config: EndpointConfig, token: IssuedToken) -> None:
        """Store a new endpoint and its first token together, claiming its event for its organisation.

        Raises EventOwnedElsewhere, EndpointAlreadyExists or StoreBusy (nothing is written then).
        """
        uow = DynamoUnitOfWork()
        uow.add(
            CONFIG_ITEM,
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _config_item(config),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        )
        uow.add(
            TOKEN_ITEM,
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _token_item(config.endpoint_id, token, config.created_at, None),
                }
            },
        )
        uow.add(OWNER_ITEM, _owner_put(self._table, config))
        failed = _commit(uow)
        if failed is None:
            return
        raise owner_refusal(failed, config.event_id) or EndpointAlreadyExists(config.endpoint_id)

    def update_settings(self, config: EndpointConfig, expected_version: int) -> None:
        """Store `config`'s mapping, schema, rate limit and version if the stored version is still
        `expected_version`; the event's owner is confirmed (or claimed, for older endpoints) with it.

        Raises UnknownEndpoint, ConfigChanged, EventOwnedElsewhere or StoreBusy (nothing is written then).
        """
        uow = DynamoUnitOfWork()
        uow.add(CONFIG_ITEM, _settings_update(self._table, config, expected_version))
        uow.add(OWNER_ITEM, _owner_put(self._table, config))
        failed = _commit(uow)
        if failed is None:
            return
        if refusal := owner_refusal(failed, config.event_id):
            raise refusal
        if failed.item(CONFIG_ITEM) is None:
            raise UnknownEndpoint(config.endpoint_id)
        raise ConfigChanged(config.endpoint_id, expected_version)

    def add_token(
        self, endpoint_id: str, token: IssuedToken, created_at: datetime, expires_at: datetime | None
    ) -> None:
        """Store another token of an existing endpoint (several may be active at once).

        Raises UnknownEndpoint or StoreBusy (nothing is written then).
        """
        uow = DynamoUnitOfWork()
        uow.add(
            CONFIG_ITEM,
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": endpoint_pk(endpoint_id)}, "sk": {"S": CONFIG_SK}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        )
        uow.add(
            TOKEN_ITEM,
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _token_item(endpoint_id, token, created_at, expires_at),
                }
            },
        )
        if _commit(uow) is not None:
            raise UnknownEndpoint(endpoint_id)

    def revoke_token(self, token_id: str, revoked_at: datetime) -> str:
        """Mark a token revoked; returns its endpoint id. Found through the TokenIdIndex GSI."""
        found = client("dynamodb").query(
            TableName=self._table,
            IndexName=TOKEN_ID_INDEX,
            KeyConditionExpression="token_id = :token_id",
            ExpressionAttributeValues={":token_id": {"S": token_id}},
        )["Items"]
        if not found:
            raise UnknownToken(token_id)
        key = {"pk": found[0]["pk"], "sk": found[0]["sk"]}
        try:
            client("dynamodb").update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET revoked = :true, revoked_at = :revoked_at",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":true": {"BOOL": True},
                    ":revoked_at": to_attribute(format_utc(revoked_at)),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise UnknownToken(token_id) from error
            raise
        return str(key["pk"]["S"]).removeprefix("ENDPOINT#")

    def set_enabled(self, endpoint_id: str, enabled: bool) -> None:
        try:
            client("dynamodb").update_item(
                TableName=self._table,
                Key={"pk": {"S": endpoint_pk(endpoint_id)}, "sk": {"S": CONFIG_SK}},
                UpdateExpression="SET enabled = :enabled",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":enabled": {"BOOL": enabled}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise UnknownEndpoint(endpoint_id) from error
            raise

    def scan(self) -> Iterator[StoredEndpoint]:
        """Every endpoint (operator listing; a Scan, never on the request path)."""
        by_endpoint: dict[str, list[dict[str, Any]]] = {}
        for page in client("dynamodb").get_paginator("scan").paginate(TableName=self._table):
            for item in page["Items"]:
                values = from_item(item)
                by_endpoint.setdefault(values["pk"], []).append(values)
        for items in by_endpoint.values():
            endpoint = _endpoint_from(items)
            if endpoint is not None:
                yield endpoint


@dataclass
class _Entry:
    endpoint: StoredEndpoint | None
    loaded_at: float


class EndpointCache:
    """Endpoints as a warm Lambda remembers them, so a warm request needs no read.

    An entry is re-read after `ttl_seconds` (revocations and config changes take effect within it).
    A miss - no such endpoint, or a token id the cached endpoint does not hold - is re-read at most
    every `miss_refresh_seconds`: a token created a moment ago works at once, and a stream of bogus
    tokens costs at most one read per endpoint per interval.
    """

    def __init__(
        self,
        store: EndpointStore,
        ttl_seconds: float,
        miss_refresh_seconds: float,
        monotonic: Callable[[], float],
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._miss_refresh = miss_refresh_seconds
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}

    def get(self, endpoint_id: str, token_id: str) -> StoredEndpoint | None:
        """The endpoint, fresh enough to judge a request presenting `token_id`."""
        now = self._monotonic()
        entry = self._entries.get(endpoint_id)
        if entry is None or self._needs_reload(entry, token_id, now):
            entry = _Entry(self._store.load(endpoint_id), now)
            self._remember(endpoint_id, entry)
        return entry.endpoint

    def _remember(self, endpoint_id: str, entry: _Entry) -> None:
        # Insertion order is load order: when full, forget the entry loaded longest ago.
        self._entries.pop(endpoint_id, None)
        if len(self._entries) >= limits.MAX_CACHED_ENDPOINTS:
            self._entries.pop(next(iter(self._entries)))
        self._entries[endpoint_id] = entry

    def _needs_reload(self, entry: _Entry, token_id: str, now: float) -> bool:
        age = now - entry.loaded_at
        if age >= self._ttl:
            return True
        missed = entry.endpoint is None or token_id not in entry.endpoint.tokens
        return missed and age >= self._miss_refresh

    def clear(self) -> None:
        self._entries.clear()
