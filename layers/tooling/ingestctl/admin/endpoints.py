"""Endpoint and token administration (contract §3, §9): used by ingestctl and the local stack, never deployed.

Token secrets are returned exactly once, by `create_endpoint` and `create_token`; every other view
lists tokens by id with their dates and revocation, never a secret or its hash.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypedDict

from pydantic import ValidationError

from session_ingest.adapters.clock import Clock, SystemClock
from session_ingest.adapters.endpoint_store import (
    ConfigChanged,
    EndpointAlreadyExists,
    EndpointStore,
    EventOwnedElsewhere,
    StoreBusy,
    StoredEndpoint,
    UnknownEndpoint,
    UnknownToken,
)
from session_ingest.domain.json_schema import InvalidJsonSchema, check_json_schema
from session_ingest.domain.mapping import load_mapping_rules
from session_ingest.domain.models import EndpointConfig, EndpointType, MappingRules
from session_ingest.domain.tokens import issue_token
from session_ingest.domain.utc import format_utc
from session_ingest.errors import InvalidMapping

_ORGANISATION = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class CreatedEndpoint(TypedDict):
    endpoint_id: str
    token: str
    token_id: str


class CreatedToken(TypedDict):
    endpoint_id: str
    token_id: str
    token: str
    expires_at: str | None


class AdminError(Exception):
    """An administration request that cannot be carried out; the message says why."""


class InvalidEndpointSettings(AdminError):
    pass


class NoSuchEndpoint(AdminError):
    pass


class NoSuchToken(AdminError):
    pass


class ConfigurationConflict(AdminError):
    """The configuration cannot take this change now: the event is another organisation's, or the
    endpoint changed concurrently."""


def _written_concurrently() -> ConfigurationConflict:
    """Other writes kept cancelling this one (past the unit of work's retries): nothing was stored."""
    return ConfigurationConflict("another change was being written at the same time; try again")


@dataclass(frozen=True)
class EndpointChanges:
    """What `endpoint update` changes; None leaves a setting as it is, `clear_*` removes it."""

    rate_limit_per_minute: int | None = None
    mapping: MappingRules | dict[str, Any] | None = None
    clear_mapping: bool = False
    json_schema: dict[str, Any] | None = None
    clear_schema: bool = False

    @property
    def empty(self) -> bool:
        return self == EndpointChanges()


def _store() -> EndpointStore:
    return EndpointStore()


def _mapping_rules(
    mapping: MappingRules | dict[str, Any] | None, endpoint_type: EndpointType
) -> MappingRules:
    """The endpoint's mapping, checked now so a bad mapping never reaches a request."""
    if mapping is None:
        return MappingRules()
    try:
        return load_mapping_rules(mapping, endpoint_type)
    except InvalidMapping as error:
        raise InvalidEndpointSettings(f"invalid mapping: {error.reason}") from error


def _checked_schema(json_schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The endpoint's JSON Schema, checked now so a bad schema never reaches a request."""
    if json_schema is not None:
        try:
            check_json_schema(json_schema)
        except InvalidJsonSchema as error:
            raise InvalidEndpointSettings(str(error)) from error
    return json_schema


def _checked_config(settings: dict[str, Any]) -> EndpointConfig:
    try:
        config = EndpointConfig.model_validate(settings)
    except ValidationError as error:
        raise InvalidEndpointSettings(str(error)) from error
    if config.event_id < 1:
        raise InvalidEndpointSettings("event_id must be a positive integer")
    return config


def refused_owner(error: EventOwnedElsewhere, organisation: str) -> ConfigurationConflict:
    return ConfigurationConflict(
        f"event {error.event_id} belongs to organisation {error.owner!r}, not {organisation!r}: "
        "an event has exactly one organisation"
    )


def create_endpoint(
    organisation: str,
    event_id: int,
    endpoint_type: EndpointType | str = EndpointType.SESSION,
    rate_limit_per_minute: int | None = None,
    mapping: MappingRules | dict[str, Any] | None = None,
    json_schema: dict[str, Any] | None = None,
    clock: Clock | None = None,
) -> CreatedEndpoint:
    """Create an enabled endpoint with one token: `{"endpoint_id", "token", "token_id"}`."""
    try:
        endpoint_type = EndpointType(endpoint_type)
    except ValueError as error:
        raise InvalidEndpointSettings(f"unknown endpoint type {endpoint_type!r}") from error
    if not _ORGANISATION.match(organisation):
        raise InvalidEndpointSettings(f"organisation must be a slug (a-z, 0-9, '-'), got {organisation!r}")
    settings: dict[str, Any] = {
        "endpoint_id": str(uuid.uuid4()),
        "endpoint_type": endpoint_type,
        "organisation": organisation,
        "event_id": event_id,
        "mapping": _mapping_rules(mapping, endpoint_type),
        "json_schema": _checked_schema(json_schema),
        "created_at": (clock or SystemClock()).now(),
    }
    if rate_limit_per_minute is not None:
        settings["rate_limit_per_minute"] = rate_limit_per_minute
    config = _checked_config(settings)
    token = issue_token()
    try:
        _store().create(config, token)
    except EventOwnedElsewhere as error:
        raise refused_owner(error, organisation) from error
    except EndpointAlreadyExists as error:  # a UUID collision: practically impossible
        raise AdminError("endpoint id collision; try again") from error
    except StoreBusy as error:
        raise _written_concurrently() from error
    return CreatedEndpoint(endpoint_id=config.endpoint_id, token=token.token, token_id=token.token_id)


def update_endpoint(endpoint_id: str, changes: EndpointChanges, clock: Clock | None = None) -> dict[str, Any]:
    """Change an endpoint in place (same id, same tokens), validated exactly as `create_endpoint`.

    The new settings are stored with the next `config_version` only if nobody changed the endpoint
    since it was read, so two operators' updates never silently merge. The API applies them within
    its config cache TTL (< 60 s). Returns the endpoint as `get_endpoint` shows it.
    """
    if changes.empty:
        raise InvalidEndpointSettings(
            "nothing to change: give --rate-limit, --mapping/--clear-mapping or --schema/--clear-schema"
        )
    if changes.mapping is not None and changes.clear_mapping:
        raise InvalidEndpointSettings("give a mapping or clear it, not both")
    if changes.json_schema is not None and changes.clear_schema:
        raise InvalidEndpointSettings("give a schema or clear it, not both")
    stored = _store().load(endpoint_id)
    if stored is None:
        raise NoSuchEndpoint(f"no endpoint {endpoint_id}")
    current = stored.config
    settings = current.model_dump()
    if changes.rate_limit_per_minute is not None:
        settings["rate_limit_per_minute"] = changes.rate_limit_per_minute
    if changes.clear_mapping:
        settings["mapping"] = MappingRules()
    elif changes.mapping is not None:
        settings["mapping"] = _mapping_rules(changes.mapping, current.endpoint_type)
    if changes.clear_schema:
        settings["json_schema"] = None
    elif changes.json_schema is not None:
        settings["json_schema"] = _checked_schema(changes.json_schema)
    settings["config_version"] = current.config_version + 1
    settings["updated_at"] = (clock or SystemClock()).now()
    try:
        _store().update_settings(_checked_config(settings), expected_version=current.config_version)
    except UnknownEndpoint as error:
        raise NoSuchEndpoint(f"no endpoint {endpoint_id}") from error
    except EventOwnedElsewhere as error:
        raise refused_owner(error, current.organisation) from error
    except (ConfigChanged, StoreBusy) as error:
        raise ConfigurationConflict(
            f"endpoint {endpoint_id} changed while this update was prepared (it was at version "
            f"{current.config_version}); run `endpoint show` and try again"
        ) from error
    return get_endpoint(endpoint_id)


def create_token(
    endpoint_id: str, expires_in_seconds: int | None = None, clock: Clock | None = None
) -> CreatedToken:
    """Issue another token (rotation): `{"endpoint_id", "token_id", "token", "expires_at"}`."""
    if expires_in_seconds is not None and expires_in_seconds <= 0:
        raise InvalidEndpointSettings("expires_in_seconds must be positive")
    now = (clock or SystemClock()).now()
    expires_at = None if expires_in_seconds is None else now + timedelta(seconds=expires_in_seconds)
    token = issue_token()
    try:
        _store().add_token(endpoint_id, token, now, expires_at)
    except UnknownEndpoint as error:
        raise NoSuchEndpoint(f"no endpoint {endpoint_id}") from error
    except StoreBusy as error:
        raise _written_concurrently() from error
    return CreatedToken(
        endpoint_id=endpoint_id,
        token_id=token.token_id,
        token=token.token,
        expires_at=None if expires_at is None else format_utc(expires_at),
    )


def revoke_token(token_id: str, clock: Clock | None = None) -> dict[str, Any]:
    """Revoke a token; requests stop passing with it within the API's cache TTL (< 60 s)."""
    try:
        endpoint_id = _store().revoke_token(token_id, (clock or SystemClock()).now())
    except UnknownToken as error:
        raise NoSuchToken(f"no token {token_id}") from error
    return {"token_id": token_id, "endpoint_id": endpoint_id, "revoked": True}


def set_endpoint_enabled(endpoint_id: str, enabled: bool) -> dict[str, Any]:
    """Enable or disable an endpoint (a disabled endpoint answers 404 to valid tokens)."""
    try:
        _store().set_enabled(endpoint_id, enabled)
    except UnknownEndpoint as error:
        raise NoSuchEndpoint(f"no endpoint {endpoint_id}") from error
    return get_endpoint(endpoint_id)


def endpoint_view(endpoint: StoredEndpoint) -> dict[str, Any]:
    """An endpoint's configuration and its tokens' metadata, JSON-ready."""
    config = endpoint.config
    tokens = sorted(endpoint.tokens.values(), key=lambda token: (token.created_at, token.token_id))
    return {
        "endpoint_id": config.endpoint_id,
        "endpoint_type": config.endpoint_type.value,
        "organisation": config.organisation,
        "event_id": config.event_id,
        "rate_limit_per_minute": config.rate_limit_per_minute,
        "enabled": config.enabled,
        "config_version": config.config_version,
        "created_at": format_utc(config.created_at),
        "updated_at": None if config.updated_at is None else format_utc(config.updated_at),
        "mapping": config.mapping.model_dump(mode="json"),
        "json_schema": config.json_schema,
        "tokens": [
            {
                "token_id": token.token_id,
                "created_at": format_utc(token.created_at),
                "expires_at": None if token.expires_at is None else format_utc(token.expires_at),
                "revoked": token.revoked,
            }
            for token in tokens
        ],
    }


def get_endpoint(endpoint_id: str) -> dict[str, Any]:
    endpoint = _store().load(endpoint_id)
    if endpoint is None:
        raise NoSuchEndpoint(f"no endpoint {endpoint_id}")
    return endpoint_view(endpoint)


def list_endpoints() -> list[dict[str, Any]]:
    """Every endpoint, oldest first."""
    views = [endpoint_view(endpoint) for endpoint in _store().scan()]
    return sorted(views, key=lambda view: (view["created_at"], view["endpoint_id"]))
