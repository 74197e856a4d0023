"""Cheaper TransactWriteItems rollback for the serial moto server (ingestctl.local.serial_moto).

moto backs up a transaction by deep-copying every table it touches, once per item, so a transaction
costs time proportional to the table size (measured on serial_moto: 122 ms for a 4-put transaction on an
empty table, 1.1 s at 2,000 items), which throttles the local stack, its benchmark and the soak. This
patch snapshots only the items the transaction names and restores exactly those on cancellation, through
moto's own put/delete (so indexes follow). It is only correct where DynamoDB calls run one at a time,
which is what serial_moto guarantees; it is never applied in-process under `mock_aws`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

# (table name, key, attributes before the transaction or None when the item did not exist)
ItemSnapshot = tuple[str, dict[str, Any], dict[str, Any] | None]
TransactWrite = Callable[[DynamoDBBackend, list[dict[str, Any]]], None]


class _TablesAreNotCopied:
    """Stands in for the `copy` module inside moto's transact_write_items: tables are returned as is."""

    @staticmethod
    def deepcopy(value: Any) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value)


@contextmanager
def _without_table_copies() -> Iterator[None]:
    original = dynamodb_models.copy  # type: ignore[attr-defined]
    dynamodb_models.copy = _TablesAreNotCopied  # type: ignore[attr-defined,assignment]
    try:
        yield
    finally:
        dynamodb_models.copy = original  # type: ignore[attr-defined]


def _item_key(backend: DynamoDBBackend, operation: str, request: dict[str, Any]) -> dict[str, Any]:
    if operation != "Put":
        return dict(request["Key"])
    table = backend.get_table(request["TableName"])
    attributes = request["Item"]
    key = {table.hash_key_attr: attributes[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attributes[table.range_key_attr]
    return key


def _snapshot(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[ItemSnapshot]:
    snapshots: list[ItemSnapshot] = []
    for entry in transact_items:
        operation, request = next(iter(entry.items()))
        try:
            key = _item_key(backend, operation, request)
            current = backend.get_item(request["TableName"], key)
        except Exception:  # noqa: S112 - a malformed entry fails inside moto with its own error
            continue
        attributes = copy.deepcopy(current.to_json()["Attributes"]) if current is not None else None
        snapshots.append((request["TableName"], key, attributes))
    return snapshots


def _restore(backend: DynamoDBBackend, snapshots: list[ItemSnapshot]) -> None:
    for table_name, key, attributes in reversed(snapshots):
        if attributes is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, attributes)


def _with_item_rollback(original: TransactWrite) -> TransactWrite:
    @functools.wraps(original)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        snapshots = _snapshot(self, transact_items)
        with _without_table_copies():
            try:
                original(self, transact_items)
            except Exception:
                _restore(self, snapshots)
                raise

    return transact_write_items


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    current = DynamoDBBackend.transact_write_items
    if getattr(current, "__wrapped__", None) is None:
        DynamoDBBackend.transact_write_items = _with_item_rollback(current)  # type: ignore[method-assign,assignment]
