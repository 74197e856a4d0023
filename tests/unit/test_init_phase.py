"""A handler's init runs without the cyclic garbage collector, and ends with it on (init_phase.py).

Each handler is imported in a fresh interpreter, as Lambda's init does.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.handler_init import after_importing

# sys.modules keeps the order in which imports began; get_objects() leaves the permanent generation out.
REPORT = """import gc, json
print(json.dumps({"modules": list(sys.modules), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  "unfrozen": len(gc.get_objects())}))"""
HEAVY = ("boto3", "botocore", "aws_lambda_powertools", "pydantic", "session_ingest.settings")


def init_of(handler: str) -> dict[str, Any]:
    """What importing `handler` in a fresh interpreter left: the modules in import order, the collector."""
    found: dict[str, Any] = after_importing(handler, REPORT)
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
