"""Stand-in for the Lambda python3.12+ runtime's `snapshot_restore_py` (SnapStart runtime hooks).

The same functions as the runtime's module (the `snapshot-restore-py` package): hooks are recorded in
registration order; the runtime calls the before-snapshot ones, last registered first, before taking
the snapshot, and the after-restore ones, in registration order, when an instance resumes from it.
Here nothing calls them: the artifact test and `make bench-cold-start` act out a snapshot and a restore.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

_before_snapshot: list[Hook] = []
_after_restore: list[Hook] = []


def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    _before_snapshot.append((func, args, kwargs))
    return func


def register_after_restore(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    _after_restore.append((func, args, kwargs))
    return func


def get_before_snapshot() -> list[Hook]:
    return _before_snapshot


def get_after_restore() -> list[Hook]:
    return _after_restore


def snapshot_and_restore() -> None:
    """Act out SnapStart as the runtime orders it: before-snapshot hooks last first, then after-restore."""
    for func, args, kwargs in (*reversed(_before_snapshot), *_after_restore):
        func(*args, **kwargs)
