"""Conversion between plain Python values and DynamoDB's typed attribute maps (low-level client format)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Typed attributes for `values`; None values are left out (absent, not NULL)."""
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def to_attribute(value: Any) -> dict[str, Any]:
    return dict(_serializer.serialize(value))


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """Plain values from typed attributes; whole numbers come back as int rather than Decimal."""
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}


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
