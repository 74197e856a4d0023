"""Conversion between plain Python values and DynamoDB's typed attribute maps (low-level client format)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Typed attributes for `values`; None values are left out (absent, not NULL)."""
    return {name: to_attribute(value) for name, value in values.items() if value is not None}


def to_attribute(value: Any) -> dict[str, Any]:
    """One attribute value (`{"S": …}`, `{"M": …}` …) from a plain value; floats become Decimals."""
    return dict(_serializer.serialize(_storable(value)))


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values from typed attributes; whole numbers come back as int rather than Decimal."""
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}


def _storable(value: Any) -> Any:
    """What TypeSerializer accepts: it refuses floats (e.g. in an endpoint's JSON Schema)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {str(key): _storable(element) for key, element in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(element) for element in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(element) for element in value]
    if isinstance(value, dict):
        return {key: _plain(element) for key, element in value.items()}
    if isinstance(value, set):
        return {_plain(element) for element in value}
    return value
