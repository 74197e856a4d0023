"""Each function's IAM role in template.yaml allows exactly the AWS calls its code makes.

Both handlers are driven through their main and rare paths against moto (accept, idempotent replay,
conflict and in-flight answer, resuming an abandoned Idempotency-Key (queued, or never queued and
reopened), a failed send and a failed release, dry run with match lookups, outcome lookup, request
listing, rejected token, rate limit, create, update, duplicate uid, unknown location, redelivery, a
duplicate send, an unreadable message and an invalid envelope) while botocore reports every call. Each
call becomes the IAM action(s) and resource CloudFormation would authorise (transactions per item,
queries per index), and is checked against the role's statements. The reverse is checked too: every grant
is used by some path, so a permission cannot outlive the code that needed it.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import ingest_consumer_handler
from ingestctl.admin.endpoints import create_endpoint
from ingestctl.local.template import CreatedResources, resolved_resources
from session_ingest import limits
from session_ingest.adapters.aws import client
from session_ingest.adapters.request_ledger import RequestLedger
from session_ingest.adapters.store_errors import translate
from session_ingest.service import ingest as ingest_service
from session_ingest.service.dependencies import build_ingest_dependencies
from tests.integration.ingest_api.conftest import START
from tests.support.consumer import locations, sqs_event, sqs_record, stored_sessions
from tests.support.ingest_api import ApiClient, FakeClock, LambdaContextStub

Grant = tuple[str, str]  # (IAM action, resource as "<logical id>" or "<logical id>/index/<name>")

# Granted ahead of code that will need them; each must still be unused (then it moves out of here).
PENDING: dict[str, set[Grant]] = {
    "IngestApiFunction": set(),
    "IngestConsumerFunction": set(),
}
# What Lambda's SQS event source mapping does with the function's role (not the function's code).
SQS_POLLER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")

_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def iam_grants_of_call(service: str, operation: str, params: dict[str, Any]) -> set[Grant]:
    """What IAM must allow for one API call (DynamoDB transactions are authorised item by item)."""
    if service == "sqs":
        return {(f"sqs:{operation}", _queue_name(params["QueueUrl"]))}
    if operation == "TransactWriteItems":
        return {
            (_TRANSACT_ACTIONS[kind], body["TableName"])
            for item in params["TransactItems"]
            for kind, body in item.items()
        }
    if operation == "TransactGetItems":
        return {("dynamodb:GetItem", item["Get"]["TableName"]) for item in params["TransactItems"]}
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return {(f"dynamodb:{operation}", table) for table in params["RequestItems"]}
    resource = params["TableName"]
    if "IndexName" in params:
        resource = f"{resource}/index/{params['IndexName']}"
    return {(f"dynamodb:{operation}", resource)}


def _resource_name(value: Any) -> str:
    """`!GetAtt X.Arn` -> X, `!Sub "${X.Arn}/index/I"` -> X/index/I (local names are logical ids)."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = str(value["Fn::Sub"])
        return text.replace("${", "").replace(".Arn}", "")
    raise AssertionError(f"unexpected IAM resource {value!r}")


def event_source_grants(function: str) -> set[Grant]:
    """What the function's SQS event sources need its role to allow."""
    events = resolved_resources()[function]["Properties"].get("Events", {})
    queues = [_resource_name(e["Properties"]["Queue"]) for e in events.values() if e["Type"] == "SQS"]
    return {(action, queue) for queue in queues for action in SQS_POLLER_ACTIONS}


def role_grants(function: str) -> set[Grant]:
    """Data-plane grants (DynamoDB, SQS) of the function's role in the template (tracing off)."""
    resources = resolved_resources()
    role = resources[resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]
    grants: set[Grant] = set()
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for action in actions:
                if action.split(":")[0] in ("dynamodb", "sqs"):
                    grants |= {(action, _resource_name(target)) for target in targets}
    return grants


class CallRecorder:
    """Collects the IAM grants of every call the shared boto3 clients make, per function."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.current: str | None = None
        self.grants: dict[str, set[Grant]] = {}

    def attach(self) -> None:
        for service in ("dynamodb", "sqs"):
            client(service).meta.events.register(f"before-parameter-build.{service}", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.current is not None:
            service = model.service_model.endpoint_prefix
            self.grants.setdefault(self.current, set()).update(
                iam_grants_of_call(service, model.name, params)
            )

    @contextlib.contextmanager
    def function(self, name: str) -> Iterator[None]:
        self.current = name
        try:
            yield
        finally:
            self.current = None


@pytest.fixture
def recorder(aws: CreatedResources, monkeypatch: pytest.MonkeyPatch) -> CallRecorder:
    clock = FakeClock(START)
    dependencies = build_ingest_dependencies(clock)
    monkeypatch.setattr(ingest_service, "ingest_dependencies", lambda: dependencies)
    recorder = CallRecorder(clock)
    recorder.attach()
    return recorder


@contextlib.contextmanager
def failing_once(monkeypatch: pytest.MonkeyPatch, method: str) -> Iterator[None]:
    """RequestLedger.<method> fails once as DynamoDB would, as if the Lambda died around it."""
    original = getattr(RequestLedger, method)
    calls = []

    def fail_first(self: RequestLedger, *args: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise translate(ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, method))
        return original(self, *args)

    with monkeypatch.context() as patch:
        patch.setattr(RequestLedger, method, fail_first)
        yield
    assert calls, f"RequestLedger.{method} was never called"


def consume_queue(recorder: CallRecorder, queue_url: str, redeliver: bool = False) -> None:
    """Feed what the API queued to the consumer handler, as the SQS event source would."""
    messages = (
        boto3.client("sqs")
        .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        .get("Messages", [])
    )
    with recorder.function("IngestConsumerFunction"):
        for receive_count in (1, 2) if redeliver else (1,):
            records = [
                sqs_record(
                    m["Body"],
                    m["MessageAttributes"]["request_id"]["StringValue"],
                    m["MessageId"],
                    receive_count,
                )
                for m in messages
            ]
            reply = ingest_consumer_handler.lambda_handler(sqs_event(*records), LambdaContextStub())
            assert reply == {"batchItemFailures": []}


def deliver_unreadable(recorder: CallRecorder, request_id: str) -> None:
    """A message that is not an envelope: reported as failed and its reason noted on the outcome."""
    record = sqs_record("not an envelope", request_id, "unreadable-1")
    with recorder.function("IngestConsumerFunction"):
        reply = ingest_consumer_handler.lambda_handler(sqs_event(record), LambdaContextStub())
    assert reply == {"batchItemFailures": [{"itemIdentifier": "unreadable-1"}]}


def deliver_invalid_envelope(recorder: CallRecorder, request_id: str) -> None:
    """An envelope of the right version that does not validate: the request fails permanently."""
    body = json.dumps({"schema_version": 1, "request_id": request_id, "endpoint_id": "?"})
    with recorder.function("IngestConsumerFunction"):
        reply = ingest_consumer_handler.lambda_handler(
            sqs_event(sqs_record(body, request_id)), LambdaContextStub()
        )
    assert reply == {"batchItemFailures": []}


def drive_abandoned_idempotency_keys(
    recorder: CallRecorder, api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys whose first request stopped between storing and confirming, resumed once known abandoned."""
    queued = {"session": {"name": "Resumed"}}
    never_queued = {"session": {"name": "Reopened"}}
    with recorder.function("IngestApiFunction"):
        # queued, but the claim was never confirmed (the Lambda timed out after its send)
        with failing_once(monkeypatch, "confirm_claim"):
            assert api.post(queued, idempotency_key="k3").status == 200
        # a repeat while it may still be in flight is told to retry shortly
        assert api.post(queued, idempotency_key="k3").status == 409
        # never queued, and the claim could not be released either
        with Stubber(client("sqs")) as refusing_queue, failing_once(monkeypatch, "release_claim"):
            refusing_queue.add_client_error("send_message", "InternalError", http_status_code=500)
            assert api.post(never_queued, idempotency_key="k4").status >= 500
        recorder.clock.advance(limits.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
        # once abandoned, a repeat resumes each under its first request id (GetItem of its outcome;
        # the never-queued one is stored queued again, then sent)
        assert api.post(queued, idempotency_key="k3").status == 200
        assert api.post(never_queued, idempotency_key="k4").status == 200


def drive_every_path(recorder: CallRecorder, aws: CreatedResources, monkeypatch: pytest.MonkeyPatch) -> None:
    queue_url = aws.queue_urls["IngestQueue"]
    endpoint = create_endpoint("acme", 42)
    limited = create_endpoint("acme", 42, rate_limit_per_minute=1)
    location = locations().create("acme", 42, "Hall A", START)
    api = ApiClient(endpoint["endpoint_id"], endpoint["token"])
    with recorder.function("IngestApiFunction"):
        created = api.post(
            {"session": {"name": "Keynote", "organisation_uid": "uid-1"}}, idempotency_key="k1"
        )
        assert created.status == 200
        assert (
            api.post(
                {"session": {"name": "Keynote", "organisation_uid": "uid-1"}}, idempotency_key="k1"
            ).status
            == 200
        )
        assert api.post({"session": {"name": "Other"}}, idempotency_key="k1").status == 422
        assert api.post({"session": {"name": "Other", "location_resource_id": 999}}).status == 200
        assert api.post({"session": {"name": "Here", "location_resource_id": location["id"]}}).status == 200
        assert api.get_outcome(created.body["request_id"]).status == 200
        assert api.list_requests(status="queued", limit="1").status == 200
        assert api.post({"session": {"name": "x"}}, token="not-a-token").status == 401
        # the queue refuses the message: the idempotency claim is released, the client told to retry
        with Stubber(client("sqs")) as refusing_queue:
            refusing_queue.add_client_error("send_message", "InvalidParameterValue", http_status_code=400)
            assert api.post({"session": {"name": "Lost"}}, idempotency_key="k2").status >= 500
        # the dry run's match lookup: one key (GetItem) and both keys (one BatchGetItem)
        assert api.post({"session": {"organisation_uid": "uid-1"}}, dry_run=True).status == 200
        both_keys = {"session": {"resource_id": "1", "organisation_uid": "uid-1"}}
        assert api.post(both_keys, dry_run=True).status == 200
        limited_api = ApiClient(limited["endpoint_id"], limited["token"])
        assert limited_api.post({"session": {"name": "a"}}).status == 200
        assert limited_api.post({"session": {"name": "b"}}).status == 429
    drive_abandoned_idempotency_keys(recorder, api, monkeypatch)
    consume_queue(recorder, queue_url, redeliver=True)
    deliver_unreadable(recorder, created.body["request_id"])
    deliver_invalid_envelope(recorder, str(uuid.uuid4()))
    resource_id = next(s["resource_id"] for s in stored_sessions(42) if s.get("organisation_uid") == "uid-1")
    with recorder.function("IngestApiFunction"):
        assert api.post({"session": {"resource_id": resource_id, "name": "Renamed"}}).status == 200
        assert api.post({"session": {"resource_id": resource_id, "organisation_uid": "uid-0"}}).status == 200
        assert api.post({"session": {"resource_id": resource_id, "organisation_uid": "uid-1"}}).status == 200
        # a second session takes uid-1 too: a duplicate organisation uid (contract §6 rule 4)
        assert api.post({"session": {"name": "Twin"}}).status == 200
    consume_queue(recorder, queue_url)
    twin = next(s for s in stored_sessions(42) if s.get("name") == "Twin")
    with recorder.function("IngestApiFunction"):
        duplicate = {"session": {"resource_id": twin["resource_id"], "organisation_uid": "uid-1"}}
        assert api.post(duplicate).status == 200
    consume_queue(recorder, queue_url)


@pytest.mark.parametrize("function", ["IngestApiFunction", "IngestConsumerFunction"])
def test_the_role_allows_every_call_the_function_makes_and_nothing_it_never_makes(
    recorder: CallRecorder, aws: CreatedResources, function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given every path of both handlers driven against moto, each call recorded as IAM grants
    drive_every_path(recorder, aws, monkeypatch)
    # When compared with the function's role in template.yaml
    needed = recorder.grants[function] | event_source_grants(function)
    granted = role_grants(function)
    # Then nothing the code does is denied, and nothing granted goes unused
    assert not needed - granted, f"missing from the role: {sorted(needed - granted)}"
    assert not granted - needed - PENDING[function], f"granted but never used: {sorted(granted - needed)}"
    assert not PENDING[function] & needed, (
        f"now used, move out of PENDING: {sorted(PENDING[function] & needed)}"
    )
