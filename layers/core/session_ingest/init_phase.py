"""Lambda's init phase without the cyclic garbage collector (README, Cold start and SnapStart).

Each handler module imports this before anything else (ruff's isort gives it a section of its own,
ahead of the standard library) and calls `end_of_init()` last. In between, the collector is off: an
init allocates the objects of some 600 modules (boto3, Powertools, pydantic's schemas) that live as
long as the process, and every collection walked them again, about 120 of them per init. Measured
with `make bench-cold-start`: ~35-45 ms of each cold start. `end_of_init()` moves everything the init
made into the permanent generation (`gc.freeze()`), so no collection during a request walks it either,
and turns the collector back on.

Only the handler modules import this module: anything else importing it would switch the collector off
until a handler's init ends (tests/unit/test_init_phase.py checks both handlers end it).
"""

import gc

gc.disable()


def end_of_init() -> None:
    """The handler module is initialised: keep what it made out of every collection, and collect again."""
    gc.freeze()
    gc.enable()
