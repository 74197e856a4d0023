"""SnapStart priming (README, Cold start): the Lambda runtime's `snapshot_restore_py` hooks.

With SnapStart on, Lambda snapshots the initialised function once per published version and starts new
instances from that snapshot. Before it is taken, each function primes: it imports and builds what its
first request needs (AWS clients and their service models, jsonschema and its format checkers, the
settings), so a restored instance pays none of it. After a restore, anything that must not be shared
between the instances of one snapshot is made anew: `random`'s state (retry jitter would repeat in
every instance) and the cached AWS clients (their connections and credentials were the snapshotting
instance's; adapters/aws.py keeps the service models, which are plain data).

`snapshot_restore_py` ships with the python3.12+ runtimes; elsewhere (tests, the local stack) it is
absent and nothing is registered. Without SnapStart the runtime never calls the hooks.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterable

from session_ingest.adapters import aws
from session_ingest.settings import get_settings

# A format rule per optional checker the layer ships, so priming imports all of them.
_PRIMING_SCHEMA = {
    "type": "object",
    "properties": {name: {"format": name} for name in ("date-time", "uri", "hostname", "email")},
}


def register_hooks(prime: Callable[[], None]) -> bool:
    """Register `prime` before the snapshot and `after_restore` after it (False: no SnapStart runtime)."""
    try:
        import snapshot_restore_py  # in the runtime (/var/runtime), absent elsewhere
    except ImportError:
        return False
    snapshot_restore_py.register_before_snapshot(prime)
    snapshot_restore_py.register_after_restore(after_restore)
    return True


def prime(aws_services: Iterable[str], *, json_schema: bool) -> None:
    """Build what a first request needs: settings, the AWS clients of `aws_services`, jsonschema; then
    keep it out of the garbage collector's walks."""
    get_settings()
    for service in aws_services:
        aws.client(service)
    if json_schema:
        from session_ingest.domain.json_schema import check_json_schema, schema_errors

        check_json_schema(_PRIMING_SCHEMA)
        schema_errors({"date-time": "primed"}, _PRIMING_SCHEMA)
    # What priming built lives as long as the process, as the init's objects do: out of every collection
    # (session_ingest/init_phase.py).
    gc.freeze()


def after_restore() -> None:
    """Make per instance what the snapshot would otherwise share between every restored instance."""
    random.seed()
    aws.reset_clients()
