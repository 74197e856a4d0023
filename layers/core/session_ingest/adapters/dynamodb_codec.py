"""Plain Python values <-> DynamoDB attribute values, and the one timestamp format stored everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds (`2026-06-14T23:00:00.123456Z`): sorts as text in time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Read a stored timestamp back (any ISO-8601 form, `Z` or offset; naive taken as UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int | Decimal):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {str(key): _to_dynamo(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(item) for item in value]
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamo(item) for key, item in value.items()}
    if isinstance(value, list | set | frozenset):
        return [_from_dynamo(item) for item in value]
    return value


def serialize(value: Any) -> dict[str, Any]:
    """One attribute value (`{"S": …}`, `{"M": …}` …) from a plain value."""
    result: dict[str, Any] = _SERIALIZER.serialize(_to_dynamo(value))
    return result


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item from a mapping of plain values."""
    return {name: serialize(value) for name, value in values.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values (ints, floats, lists, dicts) from a DynamoDB item."""
    return {name: _from_dynamo(_DESERIALIZER.deserialize(value)) for name, value in item.items()}
