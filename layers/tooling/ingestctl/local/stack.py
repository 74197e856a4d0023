"""The local stack: moto, the template's tables and queues, the functions, the API and the pollers."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from werkzeug.serving import BaseWSGIServer, make_server

from ingestctl.local import DEFAULT_CONSUMER_CONCURRENCY
from ingestctl.local.api_docs import ApiDocs
from ingestctl.local.api_gateway import ApiGateway, RouteTable, compile_route
from ingestctl.local.emf import MetricsPublisher
from ingestctl.local.faults import FAULTS_VARIABLE, FaultPlan
from ingestctl.local.functions import FunctionSpec, function_specs
from ingestctl.local.logs import LogRouter
from ingestctl.local.moto_server import MotoServer, bind_listener, listener_port
from ingestctl.local.runtime import FunctionPool, lambda_environment
from ingestctl.local.sqs_source import SqsPoller
from ingestctl.local.template import (
    TEMPLATE_PATH,
    CreatedResources,
    create_resources,
    parameter_defaults,
    resolve_intrinsics,
)

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
LOG_DIR = TEMPLATE_PATH.parent / ".local-stack"
# A poller finishes its batch in hand and its long poll (up to 20 s); generous for a loaded machine.
POLLER_FINISH_SECONDS = 60.0


def moto_log_path(aws_port: int, log_dir: Path = LOG_DIR) -> Path:
    """moto's request log for the stack on this port (one file per port: stacks may run side by side)."""
    return log_dir / f"moto-{aws_port}.log"


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 3000  # 0: whatever port the OS gives (`api_port` then says which)
    aws_port: int = 5000  # likewise (`aws_port` of the stack)
    region: str = "us-east-1"
    template: Path = TEMPLATE_PATH
    # Overrides the event-source queues' VisibilityTimeout (tests: a DLQ in seconds, not 5 x 180 s).
    visibility_timeout: int | None = None
    api_concurrency: int = 2
    consumer_concurrency: int = DEFAULT_CONSUMER_CONCURRENCY
    log_dir: Path = LOG_DIR
    # Soak tests: faults injected at the functions' AWS calls (ingestctl.local.faults).
    faults: FaultPlan | None = None


class LocalStack:
    """Start with `start()`, stop with `stop()` (idempotent; safe after a failed start)."""

    def __init__(self, options: StackOptions, router: LogRouter | None = None) -> None:
        self.options = options
        self.router = router or LogRouter()
        self.moto = MotoServer(
            options.host, options.aws_port, functools.partial(moto_log_path, log_dir=options.log_dir)
        )
        self._api_listener: socket.socket | None = None
        self._api_port = options.port
        self.created: CreatedResources | None = None
        self.pools: dict[str, FunctionPool] = {}
        self._pollers: list[SqsPoller] = []
        self._publisher: MetricsPublisher | None = None
        self._server: BaseWSGIServer | None = None
        self._server_thread: threading.Thread | None = None

    # -- addresses ---------------------------------------------------------------------------------------

    @property
    def api_port(self) -> int:
        """The API's port: the one asked for, or once started, the one the OS gave for port 0."""
        return self._api_port

    @property
    def aws_port(self) -> int:
        return self.moto.port

    @property
    def api_url(self) -> str:
        return f"http://{self._host_for_url()}:{self.api_port}"

    @property
    def aws_endpoint_url(self) -> str:
        return self.moto.url

    def _host_for_url(self) -> str:
        return f"[{self.options.host}]" if ":" in self.options.host else self.options.host

    def aws_environment(self) -> dict[str, str]:
        """What a process needs to talk to this stack's AWS: endpoint, dummy credentials, region."""
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.options.region,
            "AWS_REGION": self.options.region,
        }

    def client(self, service: str) -> Any:
        return boto3.session.Session(
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.options.region,
        ).client(service, endpoint_url=self.aws_endpoint_url)

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        # Both ports are bound before anything starts: a busy one fails at once, naming its option.
        self._api_listener = bind_listener(self.options.host, self.options.port, "--port")
        self._api_port = listener_port(self._api_listener)
        try:
            self.moto.start()
            self.router.stack(f"moto server on {self.aws_endpoint_url} (log: {self.moto.log_path})")
            self.created = self._create_resources()
            self._publisher = MetricsPublisher(self.client("cloudwatch"), self.router.stack)
            self._publisher.start()
            self.router.set_metrics_sink(self._publisher.submit)
            specs = function_specs(self.options.template)
            self._start_functions(specs)
            self._start_api(specs)
            self._start_pollers(specs)
        except BaseException:
            self.stop()
            raise

    def _create_resources(self) -> CreatedResources:
        created = create_resources(self.client("dynamodb"), self.client("sqs"), self.options.template)
        self.router.stack(
            f"created from {self.options.template.name}: tables {', '.join(created.tables)}; "
            f"queues {', '.join(created.queue_urls)}"
        )
        return created

    def _start_functions(self, specs: list[FunctionSpec]) -> None:
        assert self.created is not None
        parameters = parameter_defaults(self.options.template)
        aws = self.aws_environment()
        for spec in specs:
            size = self.options.api_concurrency if spec.api_routes else self.options.consumer_concurrency
            environment = lambda_environment(
                spec, spec.resolved_environment(self.created, parameters), aws, dict(os.environ)
            )
            if self.options.faults is not None and self.options.faults.active:
                plan = self.options.faults.for_function(
                    sqs_fed=bool(spec.sqs_sources), api=bool(spec.api_routes)
                )
                environment[FAULTS_VARIABLE] = plan.model_dump_json()
                self.router.stack(f"{spec.logical_id}: injecting faults: {plan.describe()}")
            pool = FunctionPool(spec, environment, max(size, 1), self.router)
            self.pools[spec.logical_id] = pool
        errors: list[BaseException] = []

        def start(pool: FunctionPool) -> None:
            try:
                pool.start()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(pool,)) for pool in self.pools.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        self.router.stack(
            "functions ready: "
            + ", ".join(f"{name} x{pool.size} ({pool.spec.handler})" for name, pool in self.pools.items())
        )

    def _invoke(self, function: str, event: dict[str, Any]) -> Any:
        assert self.created is not None
        arn = f"arn:aws:lambda:{self.options.region}:{self.created.account_id}:function:{function}"
        return self.pools[function].invoke(event, arn).result

    def _start_api(self, specs: list[FunctionSpec]) -> None:
        assert self.created is not None
        routes = [compile_route(spec.logical_id, route) for spec in specs for route in spec.api_routes]
        gateway = ApiGateway(RouteTable(routes), self._invoke, self.created.account_id, self.router.stack)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # our own access lines replace werkzeug's
        docs = ApiDocs(gateway, self.options.template.parent / "docs" / "openapi.json", self.api_url)
        assert self._api_listener is not None
        self._server = make_server(
            self.options.host, self.api_port, docs, threaded=True, fd=self._api_listener.fileno()
        )
        self._api_listener.close()  # the server holds its own duplicate of it
        self._api_listener = None
        self._server_thread = threading.Thread(
            target=self._server.serve_forever, name="api-gateway", daemon=True
        )
        self._server_thread.start()
        self.router.stack(
            f"API Gateway on {self.api_url}: "
            + ", ".join(
                f"{route.method} {route.resource}" for route in sorted(routes, key=lambda r: r.resource)
            )
        )

    def _start_pollers(self, specs: list[FunctionSpec]) -> None:
        assert self.created is not None
        sqs = self.client("sqs")
        urls_by_arn = {self.created.arns[name]: url for name, url in self.created.queue_urls.items()}
        for spec in specs:
            for source in spec.sqs_sources:
                queue_arn = str(resolve_intrinsics(source.queue, self.created))
                queue_url = urls_by_arn[queue_arn]
                timeout = self._apply_visibility_timeout(sqs, queue_url)
                for index in range(self.pools[spec.logical_id].size):
                    poller = SqsPoller(
                        function=spec.logical_id,
                        source=source,
                        queue_url=queue_url,
                        queue_arn=queue_arn,
                        region=self.options.region,
                        sqs=self.client("sqs"),
                        invoke=functools.partial(self._invoke, spec.logical_id),
                        router=self.router,
                        name=f"poller-{spec.logical_id}-{index}",
                    )
                    poller.start()
                    self._pollers.append(poller)
                self.router.stack(
                    f"{spec.logical_id} polls {queue_url.rsplit('/', 1)[-1]}: "
                    f"batch size {source.batch_size}, "
                    f"window {source.batching_window_seconds:g} s, visibility timeout {timeout}"
                )

    def _apply_visibility_timeout(self, sqs: Any, queue_url: str) -> str:
        """Apply --visibility-timeout, if given; describe the queue's timeout either way."""
        names = ["VisibilityTimeout"]
        template_value = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
        if self.options.visibility_timeout is None:
            return f"{template_value['VisibilityTimeout']} s"
        sqs.set_queue_attributes(
            QueueUrl=queue_url, Attributes={"VisibilityTimeout": str(self.options.visibility_timeout)}
        )
        return (
            f"{self.options.visibility_timeout} s (--visibility-timeout; "
            f"the template says {template_value['VisibilityTimeout']} s)"
        )

    def peak_memory_mib(self) -> dict[str, float]:
        """Per function: the largest resident set any of its environments reached (Max Memory Used)."""
        return {name: round(pool.peak_memory_kib / 1024, 1) for name, pool in self.pools.items()}

    def stop(self) -> None:
        """Stop taking requests, finish batches in hand, stop the functions, publish metrics, stop moto."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._api_listener is not None:  # a start that failed before the API served
            self._api_listener.close()
            self._api_listener = None
        for poller in self._pollers:
            poller.stop()
        for poller in self._pollers:
            poller.join(timeout=POLLER_FINISH_SECONDS)
        for pool in self.pools.values():
            pool.stop()
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                self._publisher.stop()
            self._publisher = None
        self.moto.stop()
        # A poller still in a long poll ends now that moto is gone: none may outlive the stack, making
        # AWS calls from this process (an in-process stack shares it with tests counting AWS calls).
        for poller in self._pollers:
            poller.join(timeout=POLLER_FINISH_SECONDS)
        self._pollers.clear()
