"""A handler's init runs without the cyclic garbage collector, and ends with it on (init_phase.py).

Each handler is imported in a fresh interpreter, as Lambda's init does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER_DIRS = [REPO_ROOT / "functions" / "ingest_api", REPO_ROOT / "functions" / "ingest_consumer"]
# sys.modules keeps the order in which imports began.
IMPORT_AND_REPORT = """
import gc, importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps({"modules": list(sys.modules), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  "unfrozen": len(gc.get_objects())}))
"""
HEAVY = ("boto3", "botocore", "aws_lambda_powertools", "pydantic", "session_ingest.settings")


def init_of(module: str) -> dict[str, Any]:
    """What importing `module` in a fresh interpreter left: the modules in import order, the collector."""
    python_path = ":".join(str(directory) for directory in HANDLER_DIRS)
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_REPORT, module],
        env={"PYTHONPATH": python_path, "AWS_REGION": "eu-west-1", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize("handler", ["ingest_api_handler", "ingest_consumer_handler"])
def test_a_handler_switches_the_collector_off_before_any_library_loads(handler: str) -> None:
    # When a handler module is imported, as Lambda's init does
    modules = init_of(handler)["modules"]
    # Then init_phase began before any of the libraries whose objects the collector would walk
    before = modules[: modules.index("session_ingest.init_phase")]
    assert [name for name in before if name.startswith(HEAVY)] == []


@pytest.mark.parametrize("handler", ["ingest_api_handler", "ingest_consumer_handler"])
def test_a_handlers_init_ends_with_the_collector_on_and_its_objects_frozen(handler: str) -> None:
    # When a handler module is imported
    init = init_of(handler)
    # Then the collector is on for the requests, and what the init made is in the permanent generation
    # (no collection walks it again): far more objects than are left in the others
    assert init["enabled"] is True
    assert init["frozen"] > 10 * init["unfrozen"]
