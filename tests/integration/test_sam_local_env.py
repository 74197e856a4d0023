"""`sam local invoke <Function> -e events/... --env-vars events/env.json` against the local stack (README).

Docker is absent here, so this is the closest proof. The template's variables are taken as `sam local`
resolves them (a `!Ref` to a resource becomes its logical id: the queue URL would be `IngestQueue`),
events/env.json is applied as SAM applies it (only to variables the template declares: "Parameters"
for every function, then the function's own entry), `ingestctl local seed-samples` stores the sample
endpoint, and every sample event runs through its handler against a moto holding the local stack's
tables and queues. Only the moto port differs from `ingestctl local up`'s: the test's moto listens on
a free one, where the container would reach the stack's on DEFAULT_AWS_PORT.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import tomllib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from ingest_consumer_handler import lambda_handler as consumer_handler
from ingestctl.cli import app as ingestctl
from ingestctl.commands.local import DEFAULT_AWS_PORT
from ingestctl.local.artifact import built_functions
from ingestctl.local.template import REPO_ROOT, CreatedResources
from session_ingest.adapters.aws import client, reset_clients
from session_ingest.envelope import IngestEnvelope
from session_ingest.observability import metrics
from session_ingest.service import ingest as ingest_service
from session_ingest.service.dependencies import build_ingest_dependencies
from session_ingest.settings import get_settings
from tests.integration.ingest_api.test_events import EXPECTED_STATUS, QUEUE_UNAVAILABLE, RATE_LIMITED
from tests.support.consumer import FakeLambdaContext, queue_request
from tests.support.ingest_api import EVENTS_DIR, invoke, load_event

ENV_FILE = EVENTS_DIR / "env.json"
FUNCTIONS = ("IngestApiFunction", "IngestConsumerFunction")
runner = CliRunner()


def sam_local_environment(function: str) -> dict[str, str]:
    """The function's variables under `sam local invoke --env-vars events/env.json`."""
    # Resolved against the source template: `!Ref` to a resource gives its logical id, as in SAM.
    environment = dict(built_functions(REPO_ROOT)[function].environment)
    overrides: dict[str, dict[str, Any]] = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    for scope in (overrides.get("Parameters", {}), overrides.get(function, {})):
        environment.update({name: str(value) for name, value in scope.items() if name in environment})
    return environment


@pytest.fixture
def sam_local(
    moto_server: CreatedResources, moto_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CreatedResources]:
    """This process as `sam local invoke` would run the API function: events/env.json applied."""
    for name, value in sam_local_environment("IngestApiFunction").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server_url)  # the stack's moto, on the test's port
    monkeypatch.setattr(ingest_service, "ingest_dependencies", build_ingest_dependencies)
    reset_clients()
    get_settings.cache_clear()
    metrics.clear_metrics()
    yield moto_server
    metrics.clear_metrics()


def seed_samples(*options: str) -> None:
    result = runner.invoke(ingestctl, ["local", "seed-samples", *options])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_env_file_sets_only_variables_the_template_declares(function: str) -> None:
    # Given the env file's entry for a function and the variables the template declares for it
    entry = json.loads(ENV_FILE.read_text(encoding="utf-8"))[function]
    declared = built_functions(REPO_ROOT)[function].environment
    # Then SAM applies every one of them (it silently drops undeclared ones), AWS_ENDPOINT_URL included
    assert set(entry) <= set(declared)
    assert "AWS_ENDPOINT_URL" in entry
    assert declared["AWS_ENDPOINT_URL"] == ""


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_env_file_points_each_function_at_the_local_stacks_moto_and_resources(
    function: str, moto_server: CreatedResources
) -> None:
    # Given the function's variables without and with the env file
    without = built_functions(REPO_ROOT)[function].environment
    environment = sam_local_environment(function)
    # Then without it the queue URL is a logical id; with it, the local stack's moto and names
    assert without["INGEST_QUEUE_URL"] == "IngestQueue"
    assert environment["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{DEFAULT_AWS_PORT}"
    for variable, table in (
        ("ENDPOINTS_TABLE", "EndpointsTable"),
        ("REQUESTS_TABLE", "RequestsTable"),
        ("SESSIONS_TABLE", "SessionsTable"),
    ):
        assert environment[variable] == moto_server.tables[table]
    queue = urlsplit(environment["INGEST_QUEUE_URL"])
    assert f"{queue.scheme}://{queue.netloc}" == environment["AWS_ENDPOINT_URL"]
    assert queue.path == urlsplit(moto_server.queue_urls["IngestQueue"]).path


@pytest.mark.parametrize(("name", "status"), sorted(EXPECTED_STATUS.items()))
@pytest.mark.usefixtures("sam_local")
def test_a_sample_event_gets_its_status_under_sam_local(name: str, status: int) -> None:
    # Given the local stack seeded for the samples, and what the case needs beforehand
    seed_samples()
    if name == "request_status.json":
        assert invoke(load_event("ingest_api/accepted.json")).status == 200
    # When the event is driven through the handler (for the rate-limited samples, within the minute whose
    # limit seeding used up: redone if the minute turned in between; for the queue-unavailable sample, with
    # SQS refusing every SendMessageBatch)
    while True:
        minute = int(time.time() // 60)
        if name in RATE_LIMITED:
            seed_samples("--use-up-rate-limit")
        with contextlib.ExitStack() as faults:
            if name == QUEUE_UNAVAILABLE:
                sqs = faults.enter_context(Stubber(client("sqs")))
                sqs.add_client_error("send_message_batch", "ServiceUnavailable", http_status_code=503)
            result = invoke(load_event(f"ingest_api/{name}"))
        if name not in RATE_LIMITED or minute == int(time.time() // 60):
            break
    # Then it gets the status it is named for
    assert result.status == status, result.body


@pytest.mark.parametrize(
    ("name", "failed_records"), [("sqs_create_session.json", []), ("sqs_poison_message.json", [1])]
)
def test_a_consumer_sample_event_is_processed_under_sam_local(
    name: str, failed_records: list[int], sam_local: CreatedResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the consumer's variables under sam local, and the request outcomes the API would have queued
    for variable, value in sam_local_environment("IngestConsumerFunction").items():
        if variable != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    event = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    for record in event["Records"]:
        try:
            queue_request(IngestEnvelope.model_validate_json(record["body"]))
        except ValueError:
            continue
    # When the consumer handles the sample batch
    response = consumer_handler(event, FakeLambdaContext())
    # Then exactly the unreadable records are reported failed
    expected = [{"itemIdentifier": event["Records"][index]["messageId"]} for index in failed_records]
    assert response == {"batchItemFailures": expected}


def test_seeding_refuses_to_run_without_a_local_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no AWS_ENDPOINT_URL (ingestctl would reach a real account)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # When the samples are seeded
    result = runner.invoke(ingestctl, ["local", "seed-samples"])
    # Then it refuses, before any AWS call: the sample token is a public fixture
    assert result.exit_code == 2
    assert "AWS_ENDPOINT_URL" in result.output


def test_seeding_twice_keeps_the_one_sample_endpoint(sam_local: CreatedResources) -> None:
    # Given the samples seeded once
    seed_samples()
    # When they are seeded again
    result = runner.invoke(ingestctl, ["local", "seed-samples"])
    # Then the endpoint is reported present, and the samples still authenticate
    assert result.exit_code == 0, result.output
    assert "already stored" in result.output
    assert invoke(load_event("ingest_api/accepted.json")).status == 200


def template_stages() -> set[str]:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    overrides = [
        environment["deploy"]["parameters"]["parameter_overrides"]
        for environment in config.values()
        if isinstance(environment, dict) and "deploy" in environment
    ]
    return {match for text in overrides for match in re.findall(r"\bStage=(\w+)", text)}


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_a_sample_event_names_a_stage_the_template_deploys(name: str) -> None:
    # Given a sample event and the stages samconfig.toml deploys (dev, prod)
    context = load_event(f"ingest_api/{name}")["requestContext"]
    # Then its stage is one of them, and its path carries it as API Gateway's does
    assert context["stage"] in template_stages() == {"dev", "prod"}
    assert context["path"].startswith(f"/{context['stage']}/")
