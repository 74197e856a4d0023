"""Lambda's init phase without the cyclic garbage collector (README, Cold start and SnapStart).

Each handler module imports this before anything else (ruff's isort gives it a section of its own,
ahead of the standard library) and calls `end_of_init()` last. In between, the collector is off: an
init allocates the objects of some 600 modules (boto3, Powertools, pydantic's schemas) that live as
long as the process, and each of its 42-45 collections walked them again: 27-63 ms of a cold start, now
4-8 ms (`make bench-cold-start`, its GC column). `end_of_init()` moves everything the init
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
