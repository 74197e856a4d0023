"""`python -m benchmarks.soak` (`make soak`): one load + fault soak; exit 1 if any invariant fails.

Every flag has an environment variable (SOAK_REQUESTS, SOAK_CLIENTS, …) so `make soak SOAK_REQUESTS=500`
works too. `--faults` takes the local stack's fault spec (`throttle=0.05,record_error=0.02`, see
`ingestctl.local.faults`), or `none`; by default every fault kind is injected (`run.DEFAULT_FAULTS`),
each consumer worker being killed about three times over the run.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from benchmarks.soak.run import SoakConfig, default_faults, run_soak
from benchmarks.soak.verify import render
from ingestctl.local.faults import FaultPlan, parse_fault_plan

DEFAULTS = SoakConfig()
EXPECTED_REQUESTS_PER_SECOND = 10  # what the local stack accepts on two cores (sizes the kill period)


def _env(name: str, default: Any) -> Any:
    return os.environ.get(f"SOAK_{name.upper()}", default)


def parse_args(argv: list[str] | None = None) -> SoakConfig:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--requests", type=int, default=_env("requests", DEFAULTS.requests))
    parser.add_argument("--clients", type=int, default=_env("clients", DEFAULTS.clients))
    parser.add_argument("--endpoints", type=int, default=_env("endpoints", DEFAULTS.endpoints))
    parser.add_argument(
        "--updates-per-uid", type=int, default=_env("updates_per_uid", DEFAULTS.updates_per_uid)
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=_env("duration", None),
        help="stop sending after this many seconds (the rest of the plan is dropped)",
    )
    parser.add_argument(
        "--visibility-timeout", type=int, default=_env("visibility_timeout", DEFAULTS.visibility_timeout)
    )
    parser.add_argument(
        "--api-concurrency", type=int, default=_env("api_concurrency", DEFAULTS.api_concurrency)
    )
    parser.add_argument(
        "--consumer-concurrency",
        type=int,
        default=_env("consumer_concurrency", DEFAULTS.consumer_concurrency),
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=_env("drain_timeout", DEFAULTS.drain_timeout_seconds)
    )
    parser.add_argument("--seed", type=int, default=_env("seed", DEFAULTS.seed))
    parser.add_argument("--faults", default=_env("faults", None), help="fault spec, or 'none'")
    args = parser.parse_args(argv)
    expected = int(args.requests)
    if args.duration:  # a run cut short by --duration sends about this many (the kill period follows)
        expected = min(expected, int(float(args.duration) * EXPECTED_REQUESTS_PER_SECOND))
    faults = default_faults(expected, int(args.consumer_concurrency))
    if args.faults:
        faults = FaultPlan() if args.faults.strip().lower() == "none" else parse_fault_plan(args.faults)
    return SoakConfig(
        requests=int(args.requests),
        clients=int(args.clients),
        endpoints=int(args.endpoints),
        updates_per_uid=int(args.updates_per_uid),
        duration_seconds=float(args.duration) if args.duration else None,
        visibility_timeout=int(args.visibility_timeout),
        api_concurrency=int(args.api_concurrency),
        consumer_concurrency=int(args.consumer_concurrency),
        drain_timeout_seconds=float(args.drain_timeout),
        seed=int(args.seed),
        faults=faults,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    result = run_soak(config)
    print(render(result.verdict, config.parameters()))
    print(
        f"  stack log {result.stack_log} (exit code {result.stack_exit_code}); fault log {result.fault_log}"
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
