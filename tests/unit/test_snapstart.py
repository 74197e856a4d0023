"""SnapStart hooks (session_ingest/snapstart.py): registered with the runtime, and each does its job.

The runtime's `snapshot_restore_py` is absent here; ingestctl/local/runtime_stand_in has the same functions.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import random
import subprocess
import sys
from types import ModuleType

import pytest

from ingestctl.local.artifact import SNAPSHOT_RESTORE_STAND_IN_DIR
from session_ingest import snapstart
from session_ingest.adapters import aws
from session_ingest.domain import json_schema

SETTINGS_ENVIRONMENT = {
    "ENDPOINTS_TABLE": "EndpointsTable",
    "REQUESTS_TABLE": "RequestsTable",
    "SESSIONS_TABLE": "SessionsTable",
    "INGEST_QUEUE_URL": "http://localhost/123456789012/IngestQueue",
}


@pytest.fixture
def runtime_hooks(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh stand-in `snapshot_restore_py`, importable as the runtime's."""
    spec = importlib.util.spec_from_file_location(
        "snapshot_restore_py", SNAPSHOT_RESTORE_STAND_IN_DIR / "snapshot_restore_py.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return module


@pytest.fixture
def settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SETTINGS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


def test_the_hooks_are_registered_with_the_runtime(runtime_hooks: ModuleType) -> None:
    # Given the runtime's hooks module and a function's priming
    def prime() -> None: ...

    # When the hooks are registered
    registered = snapstart.register_hooks(prime)
    # Then priming runs before the snapshot and the per-instance reset after a restore
    assert registered is True
    assert [func for func, _, _ in runtime_hooks.get_before_snapshot()] == [prime]
    assert [func for func, _, _ in runtime_hooks.get_after_restore()] == [snapstart.after_restore]


def test_nothing_is_registered_outside_a_snapstart_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no `snapshot_restore_py` (tests, the local stack)
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    # When the hooks are registered
    # Then registration reports it did nothing
    assert snapstart.register_hooks(lambda: None) is False


@pytest.mark.usefixtures("settings_environment")
def test_priming_builds_the_clients_and_the_json_schema_validator_the_first_request_needs() -> None:
    # Given nothing built yet
    aws.reset_clients()
    json_schema._validator.cache_clear()
    # When a function primes before the snapshot
    snapstart.prime(("dynamodb", "sqs"), json_schema=True)
    # Then its clients are cached and a validator with format checkers has been compiled
    assert aws.client.cache_info().currsize == 2
    assert json_schema._validator.cache_info().currsize == 1


@pytest.mark.usefixtures("settings_environment")
def test_priming_without_json_schema_leaves_the_validators_alone() -> None:
    # Given no validator compiled
    json_schema._validator.cache_clear()
    # When the consumer primes (it never validates payloads against an endpoint's schema)
    snapstart.prime(("dynamodb",), json_schema=False)
    # Then only its client is built
    assert json_schema._validator.cache_info().currsize == 0
    assert aws.client.cache_info().currsize == 1


@pytest.mark.usefixtures("settings_environment")
def test_priming_moves_what_it_built_out_of_the_garbage_collectors_walks() -> None:
    # Given clients not built yet
    aws.reset_clients()
    frozen = gc.get_freeze_count()
    # When a function primes
    snapstart.prime(("dynamodb",), json_schema=False)
    # Then what it built is in the permanent generation
    try:
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()


def test_a_restore_drops_the_cached_clients_of_the_snapshot() -> None:
    # Given a client cached before the snapshot
    before = aws.client("sqs")
    # When the instance is restored
    snapstart.after_restore()
    # Then the next use builds a new client (its own connections and credentials)
    assert aws.client("sqs") is not before


def test_a_restore_reseeds_random_so_instances_of_one_snapshot_draw_differently() -> None:
    # Given the random state every instance restored from one snapshot starts with
    random.seed(42)
    snapshot_state = random.getstate()
    # When two instances are restored from it and each draws a number
    draws = []
    for _ in range(2):
        random.setstate(snapshot_state)
        snapstart.after_restore()
        draws.append(random.random())
    # Then they differ (without the reseed both would draw the snapshot's next number)
    random.setstate(snapshot_state)
    assert draws[0] != draws[1]
    assert random.random() not in draws


@pytest.mark.parametrize("module", ["ingest_api_handler", "ingest_consumer_handler"])
def test_each_handler_registers_its_priming_when_imported_in_the_runtime(module: str) -> None:
    # Given the runtime's hooks module on the path (the stand-in) and the function's environment
    code = (
        f"import json, {module} as handler, snapshot_restore_py as hooks\n"
        "name = lambda hook: hook[0].__module__ + '.' + hook[0].__qualname__\n"
        "print(json.dumps([[name(h) for h in hooks.get_before_snapshot()],\n"
        "    [name(h) for h in hooks.get_after_restore()]]))\n"
    )
    path = os.pathsep.join([str(SNAPSHOT_RESTORE_STAND_IN_DIR), *sys.path])
    # When the handler is imported
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **SETTINGS_ENVIRONMENT, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    # Then its priming runs before the snapshot and the shared reset after a restore
    assert result.returncode == 0, result.stderr
    before, after = json.loads(result.stdout.strip().splitlines()[-1])
    assert before == [f"{module}.prime_first_request"]
    assert after == ["session_ingest.snapstart.after_restore"]
