"""`ingestctl local up`: the whole stack on this machine, no Docker (contract §9).

The emulator (moto, werkzeug, PyYAML) comes with the `local` extra, so it is imported only when `local up`
runs: the rest of ingestctl starts on an operator's install (`session-ingest[cli]`) without it.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from ingestctl.local import DEFAULT_CONSUMER_CONCURRENCY
from ingestctl.local.faults import FAULTS_VARIABLE, InvalidFaultSpec, parse_fault_plan

app = typer.Typer(
    help="Run the service locally (moto + API Gateway and SQS emulation).", no_args_is_help=True
)

DEFAULT_REGION = "us-east-1"
# events/env.json points `sam local invoke` at this port of the local stack's moto.
DEFAULT_AWS_PORT = 5000
# Imported by the emulator (moto runs as its own process, so it is looked for, not used, here).
EMULATOR_MODULES = ("moto", "werkzeug", "yaml")
INSTALL_HINT = "pip install 'session-ingest[local]'"


def _require_emulator() -> None:
    """Exit 2 with what to install when the `local` extra is missing."""
    missing = []
    for name in EMULATOR_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        not_installed = ", ".join(missing)
        typer.echo(
            f"error: `ingestctl local` needs the emulator ({not_installed} missing): {INSTALL_HINT}", err=True
        )
        raise typer.Exit(code=2)


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


@app.command("up")
def up(
    host: Annotated[str, typer.Option(help="Address of the API and of moto (loopback).")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, help="Port of the API Gateway emulator (0: any free one).")
    ] = 3000,
    aws_port: Annotated[
        int, typer.Option(min=0, help="Port of the moto server, AWS_ENDPOINT_URL (0: any free one).")
    ] = DEFAULT_AWS_PORT,
    visibility_timeout: Annotated[
        int | None,
        typer.Option(
            envvar="INGEST_LOCAL_VISIBILITY_TIMEOUT",
            min=0,
            help="Override the ingest queue's visibility timeout (s), e.g. 1 to see the DLQ in seconds.",
        ),
    ] = None,
    api_concurrency: Annotated[int, typer.Option(min=1, help="Warm ingest API environments.")] = 2,
    consumer_concurrency: Annotated[
        int, typer.Option(min=1, help="Warm consumer environments, one SQS poller each.")
    ] = DEFAULT_CONSUMER_CONCURRENCY,
    template: Annotated[
        Path | None, typer.Option(hidden=True, exists=True, dir_okay=False, help="Default: template.yaml.")
    ] = None,
    faults: Annotated[
        str | None,
        typer.Option(
            envvar=FAULTS_VARIABLE,
            help="Soak tests: inject faults at the functions' AWS calls, e.g. "
            "'throttle=0.05,record_error=0.02' (see docs/RELIABILITY.md).",
        ),
    ] = None,
    report_file: Annotated[
        Path | None, typer.Option(hidden=True, help="Write peak memory and invocation counts here on exit.")
    ] = None,
) -> None:
    """Start moto, the template's tables and queues, the API and the consumer; run until interrupted."""
    _require_emulator()
    from ingestctl.local.demo import create_demo_endpoint, instructions, use_stack
    from ingestctl.local.moto_server import PortInUse
    from ingestctl.local.runtime import WorkerStartupError
    from ingestctl.local.stack import LocalStack, StackOptions
    from ingestctl.local.template import TEMPLATE_PATH, UnresolvableIntrinsic

    try:
        fault_plan = parse_fault_plan(faults) if faults else None
    except InvalidFaultSpec as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from exc
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    options = StackOptions(
        host=host,
        port=port,
        aws_port=aws_port,
        region=_region(),
        template=(template or TEMPLATE_PATH).resolve(),
        visibility_timeout=visibility_timeout,
        api_concurrency=api_concurrency,
        consumer_concurrency=consumer_concurrency,
        faults=fault_plan,
    )
    stack = LocalStack(options)
    try:
        stack.start()
        assert stack.created is not None
        use_stack(stack.aws_environment(), stack.created)
        endpoint = create_demo_endpoint()
    except (PortInUse, WorkerStartupError, UnresolvableIntrinsic, RuntimeError) as exc:
        stack.stop()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    except BaseException:
        stack.stop()
        raise
    ready = {
        "api_url": stack.api_url,
        "aws_endpoint_url": stack.aws_endpoint_url,
        "endpoint_id": endpoint["endpoint_id"],
        "token": endpoint["token"],
    }
    typer.echo(json.dumps(ready))
    typer.echo(instructions(stack.api_url, endpoint, stack.aws_environment()))
    if visibility_timeout is not None:
        typer.echo(
            f"Note: the ingest queue's visibility timeout is {visibility_timeout} s (--visibility-timeout), "
            "not the template's: failed messages come back, and reach the DLQ, sooner than in AWS."
        )
    stack.router.stack("ready")
    stop.wait()
    stack.router.stack("stopping")
    stack.stop()
    peak = stack.peak_memory_mib()
    stack.router.stack(
        "stopped; peak memory: " + ", ".join(f"{name} {mib} MiB" for name, mib in peak.items())
    )
    if report_file is not None:
        invocations = {name: pool.invocations for name, pool in stack.pools.items()}
        replaced = {name: pool.replaced for name, pool in stack.pools.items()}
        report = {"peak_memory_mib": peak, "invocations": invocations, "replaced_environments": replaced}
        report_file.write_text(json.dumps(report))


@app.command("seed-samples")
def seed_samples(
    use_up_rate_limit: Annotated[
        bool,
        typer.Option(
            "--use-up-rate-limit",
            help="Also spend the rest of this minute's rate limit, so rate_limited.json answers 429.",
        ),
    ] = False,
) -> None:
    """Store the endpoint and token hash the sample events use (events/ingest_api) in a running local stack.

    For `sam local invoke ... --env-vars events/env.json` (README). AWS_ENDPOINT_URL must point at the
    local stack's moto: the sample token is a public test fixture and must never reach a real account.
    """
    from ingestctl.local import samples  # imports the service code: after the endpoint check
    from ingestctl.resources import configure

    if not os.environ.get("AWS_ENDPOINT_URL"):
        typer.echo(
            "error: set AWS_ENDPOINT_URL to the local stack's moto (`ingestctl local up` prints it); "
            "the sample token must never be stored in a real account",
            err=True,
        )
        raise typer.Exit(code=2)
    configure()
    seeded = samples.seed_sample_endpoint()
    state = "stored" if seeded.created else "already stored"
    typer.echo(f"sample endpoint {seeded.config.endpoint_id} ({state})")
    if use_up_rate_limit:
        spent = samples.use_up_rate_limit(seeded.config)
        typer.echo(f"rate limit used up for this minute ({spent} requests spent)")
