"""The local stack's fault injection (soak tests): the plan, and what each fault does to a botocore call.

The injector's handlers are registered on real botocore clients whose HTTP send is replaced by a fake AWS
that answers every call no fault answered, so nothing leaves the process (sockets are disabled anyway).
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import handlers
from botocore.awsrequest import AWSResponse
from botocore.endpoint import Endpoint
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff

from ingestctl.local.faults import (
    FAULTS_VARIABLE,
    EvenSpread,
    FaultInjector,
    FaultLog,
    FaultPlan,
    InjectedFault,
    InvalidFaultSpec,
    install_from_environment,
    parse_fault_plan,
    read_fault_log,
)
from session_ingest.adapters.aws import BOTO_CONFIG

ATTEMPTS = BOTO_CONFIG.retries["max_attempts"] + 1  # botocore counts retries; the headers count attempts
TRANSACTION = [
    {"Put": {"TableName": "T", "Item": {"pk": {"S": "REQUEST#" + "0" * 8 + "-0000-4000-8000-" + "0" * 12}}}}
]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class FakeAws:
    """Stands in for the network: answers every call that reaches it with an empty success.

    It records only the test's own thread: the patch is process-wide, and a background thread another test
    left in this worker (a queue poller) may still be calling."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.bodies: list[bytes] = []
        self._test_thread = threading.get_ident()

    def __call__(self, request: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        if threading.get_ident() == self._test_thread:
            self.sent.append(target.decode() if isinstance(target, bytes) else str(target))
            self.bodies.append(
                request.body if isinstance(request.body, bytes) else str(request.body).encode()
            )
        body = b'{"MessageId": "m-1", "MD5OfMessageBody": "x"}' if b"sqs" in request.url.encode() else b"{}"
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore's retries stay in play, only without their sleeps
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> FakeAws:
    fake = FakeAws()
    monkeypatch.setattr(Endpoint, "_send", lambda self, request: fake(request))
    return fake


def _client(service: str, injector: FaultInjector) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    client = session.client(service, endpoint_url="http://127.0.0.1:9", config=BOTO_CONFIG)
    for event, handler in injector.handlers():
        client.meta.events.register(event, handler)
    return client


def _injector(tmp_path: Path, **plan: Any) -> tuple[FaultInjector, Path, list[bool]]:
    log = tmp_path / "faults.jsonl"
    killed: list[bool] = []
    injector = FaultInjector(
        FaultPlan(**plan), FaultLog(log, "Fn"), random.Random(1), kill=lambda: killed.append(True)
    )
    return injector, log, killed


def _kinds(log: Path) -> list[str]:
    return [entry["kind"] for entry in read_fault_log(log)]


# -- how often a fraction fires ---------------------------------------------------------------------------


@pytest.mark.parametrize(("fraction", "expected"), [(0.0, [False] * 20), (1.0, [True] * 20)])
def test_a_fraction_of_zero_never_fires_and_of_one_always(fraction: float, expected: list[bool]) -> None:
    # Given a spread of 0 or 1 / When asked about 20 calls / Then it picks none, or every one
    spread = EvenSpread(fraction, random.Random(1))
    assert [spread.picks() for _ in range(20)] == expected


@pytest.mark.parametrize("fraction", [0.02, 0.03, 0.1, 0.35, 0.7])
@pytest.mark.parametrize("seed", range(40))
def test_a_fraction_fires_on_about_that_share_of_calls_whatever_the_draws(fraction: float, seed: int) -> None:
    # Given a spread of a fraction, drawing from any seed
    spread = EvenSpread(fraction, random.Random(seed))
    # When asked about calls one by one
    picked = [spread.picks() for _ in range(300)]
    # Then the first 1/fraction calls already hold a pick (a short soak run injects every fault kind)
    assert any(picked[: math.ceil(1 / fraction)])
    # And every prefix of n calls holds n x fraction picks, give or take one
    for n in (50, 100, 299, 300):
        assert math.floor(n * fraction) - 1 <= sum(picked[:n]) <= math.ceil(n * fraction)


# -- the plan -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("throttle=0.05,record_error=0.02", FaultPlan(throttle=0.05, record_error=0.02)),
        (" worker_kill_every = 3 , poison = bad-uid ", FaultPlan(worker_kill_every=3, poison="bad-uid")),
        ('{"delay_send": 0.5, "max_delay_seconds": 5}', FaultPlan(delay_send=0.5, max_delay_seconds=5)),
    ],
)
def test_a_fault_spec_is_name_value_pairs_or_json(spec: str, expected: FaultPlan) -> None:
    # Given a spec as `local up --faults` takes it / When parsed / Then it is the plan it names
    assert parse_fault_plan(spec) == expected


@pytest.mark.parametrize(
    "spec",
    ["throttle", "throttle=2", "unknown=0.1", "max_delay_seconds=0", '{"throttle": "often"}', "poison="],
)
def test_a_spec_that_names_no_valid_plan_is_refused(spec: str) -> None:
    # Given a malformed spec / When parsed / Then it is refused with a reason
    with pytest.raises(InvalidFaultSpec):
        parse_fault_plan(spec)


@pytest.mark.parametrize(
    ("sqs_fed", "api", "kept"),
    [
        (True, False, {"throttle", "record_error", "worker_kill_every", "poison"}),
        (False, True, {"throttle", "delay_send", "duplicate_send", "send_error", "partial_send"}),
        (False, False, {"throttle"}),
    ],
)
def test_each_function_gets_only_the_faults_of_its_event_sources(
    sqs_fed: bool, api: bool, kept: set[str]
) -> None:
    # Given a plan with every fault
    plan = FaultPlan(
        throttle=0.1,
        record_error=0.1,
        worker_kill_every=5,
        poison="p",
        delay_send=0.1,
        duplicate_send=0.1,
        send_error=0.1,
        partial_send=0.1,
    )
    # When it is narrowed to a function
    narrowed = plan.for_function(sqs_fed=sqs_fed, api=api)
    # Then only the faults that function can meet remain
    enabled = {
        name
        for name, value in narrowed.model_dump(exclude={"throttle_repeat", "max_delay_seconds"}).items()
        if value
    }
    assert enabled == kept


# -- DynamoDB throttling --------------------------------------------------------------------------------


def test_a_throttled_call_is_retried_by_botocore_and_succeeds_when_the_streak_ends(
    tmp_path: Path, aws: FakeAws
) -> None:
    # Given every call throttled on its first attempt only
    injector, log, _ = _injector(tmp_path, throttle=1.0, throttle_repeat=0.0)
    dynamodb = _client("dynamodb", injector)
    # When a call is made
    dynamodb.get_item(TableName="T", Key={"pk": {"S": "a"}})
    # Then the first attempt was throttled, the retry reached AWS
    assert [(e["attempt"], e["exhausted"]) for e in read_fault_log(log)] == [(1, False)]
    assert aws.sent == ["DynamoDB_20120810.GetItem"]


def test_a_throttling_streak_longer_than_botocores_retries_reaches_the_caller(
    tmp_path: Path, aws: FakeAws
) -> None:
    # Given every attempt throttled
    injector, log, _ = _injector(tmp_path, throttle=1.0, throttle_repeat=1.0)
    dynamodb = _client("dynamodb", injector)
    # When a call is made
    with pytest.raises(ClientError) as raised:
        dynamodb.get_item(TableName="T", Key={"pk": {"S": "a"}})
    # Then the caller sees DynamoDB's throttling error after botocore's attempts, and nothing reached AWS
    assert raised.value.response["Error"]["Code"] in {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
    }
    entries = list(read_fault_log(log))
    assert [e["attempt"] for e in entries] == list(range(1, entries[-1]["max_attempts"] + 1))
    assert entries[-1]["exhausted"] is True
    assert aws.sent == []


def test_throttling_leaves_other_services_alone(tmp_path: Path) -> None:
    # Given every DynamoDB attempt throttled
    injector, log, _ = _injector(tmp_path, throttle=1.0, throttle_repeat=1.0)
    sqs = _client("sqs", injector)
    # When an SQS call is made
    sqs.send_message(QueueUrl="http://127.0.0.1:9/1/q", MessageBody="{}")
    # Then it goes through untouched
    assert _kinds(log) == []


# -- the consumer's commit ------------------------------------------------------------------------------


def test_a_record_error_raises_before_the_commit_is_sent(tmp_path: Path, aws: FakeAws) -> None:
    # Given every commit fails before writing
    injector, log, _ = _injector(tmp_path, record_error=1.0)
    dynamodb = _client("dynamodb", injector)
    # When a transaction is written
    with pytest.raises(InjectedFault):
        dynamodb.transact_write_items(TransactItems=TRANSACTION)
    # Then nothing was written, and the fault names the request
    assert aws.sent == []
    assert [(e["kind"], e["request_id"]) for e in read_fault_log(log)] == [
        ("record_error", "00000000-0000-4000-8000-000000000000")
    ]


def test_only_commits_meet_record_errors(tmp_path: Path, aws: FakeAws) -> None:
    # Given every commit fails
    injector, log, _ = _injector(tmp_path, record_error=1.0)
    dynamodb = _client("dynamodb", injector)
    # When another DynamoDB call is made
    dynamodb.get_item(TableName="T", Key={"pk": {"S": "a"}})
    # Then it goes through
    assert aws.sent == ["DynamoDB_20120810.GetItem"]
    assert _kinds(log) == []


@pytest.mark.parametrize(("marker", "fails"), [("soak-poison", True), ("other-marker", False)])
def test_a_poison_record_fails_every_time_and_others_never(tmp_path: Path, marker: str, fails: bool) -> None:
    # Given a poison marker, and a commit whose record carries "soak-poison"
    injector, log, _ = _injector(tmp_path, poison=marker)
    dynamodb = _client("dynamodb", injector)
    items = [
        {"Put": {"TableName": "T", "Item": {"pk": {"S": "a"}, "organisation_uid": {"S": "u-soak-poison"}}}}
    ]
    # When it is written twice / Then it fails both times exactly when it carries the marker
    for _ in range(2):
        if fails:
            with pytest.raises(InjectedFault, match="poison"):
                dynamodb.transact_write_items(TransactItems=items)
        else:
            dynamodb.transact_write_items(TransactItems=items)
    assert _kinds(log) == (["poison", "poison"] if fails else [])


def test_a_worker_is_killed_right_after_its_nth_commit_was_written(tmp_path: Path, aws: FakeAws) -> None:
    # Given a worker killed after every third commit
    injector, log, killed = _injector(tmp_path, worker_kill_every=3)
    dynamodb = _client("dynamodb", injector)
    # When it writes three transactions
    for _ in range(2):
        dynamodb.transact_write_items(TransactItems=TRANSACTION)
    assert killed == []
    dynamodb.transact_write_items(TransactItems=TRANSACTION)
    # Then all three reached AWS, and the kill came after the third (logged first)
    assert aws.sent == ["DynamoDB_20120810.TransactWriteItems"] * 3
    assert killed == [True]
    assert [(e["kind"], e["commits"]) for e in read_fault_log(log)] == [("worker_kill", 3)]


def test_a_record_error_after_commit_raises_once_the_write_is_in(tmp_path: Path, aws: FakeAws) -> None:
    # Given every commit reported failed after it succeeded
    injector, log, _ = _injector(tmp_path, record_error_after_commit=1.0)
    dynamodb = _client("dynamodb", injector)
    # When a transaction is written
    with pytest.raises(InjectedFault):
        dynamodb.transact_write_items(TransactItems=TRANSACTION)
    # Then the write was made all the same
    assert aws.sent == ["DynamoDB_20120810.TransactWriteItems"]
    assert _kinds(log) == ["record_error_after_commit"]


# -- the API's SendMessage ------------------------------------------------------------------------------


def _send(sqs: Any) -> None:
    sqs.send_message(
        QueueUrl="http://127.0.0.1:9/1/q",
        MessageBody="{}",
        MessageAttributes={"request_id": {"DataType": "String", "StringValue": "r-1"}},
    )


def test_a_delayed_send_carries_delay_seconds_within_the_plan(tmp_path: Path) -> None:
    # Given every send delayed by up to 5 s
    injector, log, _ = _injector(tmp_path, delay_send=1.0, max_delay_seconds=5)
    sqs = _client("sqs", injector)
    # When a message is sent
    _send(sqs)
    # Then it was sent once, delayed between 1 and 5 s
    (entry,) = read_fault_log(log)
    assert entry["kind"] == "delay_send"
    assert entry["request_id"] == "r-1"
    assert 1 <= entry["delay_seconds"] <= 5


def test_a_duplicated_send_sends_the_same_message_again(tmp_path: Path) -> None:
    # Given every send duplicated, through a client of its own
    duplicates: list[dict[str, Any]] = []

    class DuplicateClient:
        def send_message(self, **params: Any) -> None:
            duplicates.append(params)

    log = tmp_path / "faults.jsonl"
    injector = FaultInjector(
        FaultPlan(duplicate_send=1.0), FaultLog(log, "Fn"), random.Random(1), sqs_client=DuplicateClient
    )
    sqs = _client("sqs", injector)
    # When a message is sent
    _send(sqs)
    # Then the same message (body and request id) was sent a second time
    assert len(duplicates) == 1
    assert duplicates[0]["MessageBody"] == "{}"
    assert duplicates[0]["MessageAttributes"]["request_id"]["StringValue"] == "r-1"
    assert _kinds(log) == ["duplicate_send"]


def test_a_duplicate_that_cannot_be_sent_leaves_the_original_send_alone(tmp_path: Path, aws: FakeAws) -> None:
    # Given every send duplicated, through a client that fails
    class BrokenClient:
        def send_message(self, **params: Any) -> None:
            raise ConnectionError("queue unreachable")

    log = tmp_path / "faults.jsonl"
    injector = FaultInjector(
        FaultPlan(duplicate_send=1.0), FaultLog(log, "Fn"), random.Random(1), sqs_client=BrokenClient
    )
    sqs = _client("sqs", injector)
    # When a message is sent
    _send(sqs)
    # Then the original send succeeded, and the failed duplicate is only logged
    assert aws.sent == ["AmazonSQS.SendMessage"]
    assert _kinds(log) == ["duplicate_send_failed"]


def test_a_send_error_outlasts_botocores_retries_and_reaches_the_api(tmp_path: Path, aws: FakeAws) -> None:
    # Given SQS unavailable for the whole of a call
    injector, log, _ = _injector(tmp_path, send_error=1.0)
    sqs = _client("sqs", injector)
    # When a message is sent
    with pytest.raises(ClientError) as raised:
        _send(sqs)
    # Then every attempt got a 503, nothing reached SQS, and the outage is logged once
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert aws.sent == []
    assert [(e["kind"], e["attempts"]) for e in read_fault_log(log)] == [("send_error", ATTEMPTS)]


def _send_batch(sqs: Any, count: int) -> Any:
    entries = [
        {
            "Id": str(index),
            "MessageBody": "{}",
            "MessageAttributes": {"request_id": {"DataType": "String", "StringValue": f"r-{index}"}},
        }
        for index in range(count)
    ]
    return sqs.send_message_batch(QueueUrl="http://127.0.0.1:9/1/q", Entries=entries)


def test_a_partial_send_takes_the_first_half_of_a_batch_and_reports_the_rest_failed(
    tmp_path: Path, aws: FakeAws
) -> None:
    # Given SQS taking only part of every batch
    injector, log, _ = _injector(tmp_path, partial_send=1.0)
    sqs = _client("sqs", injector)
    # When a batch of 5 is sent
    response = _send_batch(sqs, 5)
    # Then 3 entries reached SQS, the other 2 are reported failed (not sender faults), and it is logged
    sent = json.loads(aws.bodies[0])["Entries"]
    assert [entry["Id"] for entry in sent] == ["0", "1", "2"]
    assert [(f["Id"], f["SenderFault"]) for f in response["Failed"]] == [("3", False), ("4", False)]
    (entry,) = read_fault_log(log)
    assert (entry["kind"], entry["sent"], entry["withheld"]) == ("partial_send", 3, ["r-3", "r-4"])


def test_a_batch_of_one_is_always_taken_whole(tmp_path: Path, aws: FakeAws) -> None:
    # Given SQS taking only part of every batch
    injector, log, _ = _injector(tmp_path, partial_send=1.0)
    # When a single entry is sent / Then it is taken (so a retry of what is left always finishes)
    response = _send_batch(_client("sqs", injector), 1)
    assert response.get("Failed", []) == []
    assert _kinds(log) == []


# -- installation and the log ---------------------------------------------------------------------------


def test_a_worker_installs_the_plan_in_its_environment_for_every_later_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given botocore's built-in handler list (restored after the test) and a plan in the environment
    monkeypatch.setattr(handlers, "BUILTIN_HANDLERS", list(handlers.BUILTIN_HANDLERS))
    log = tmp_path / "faults.jsonl"
    environ = {FAULTS_VARIABLE: FaultPlan(record_error=1.0, log=log).model_dump_json()}
    # When the worker installs it, and the function then creates a client
    assert install_from_environment(environ) is not None
    dynamodb = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    ).client("dynamodb", endpoint_url="http://127.0.0.1:9")
    # Then that client meets the fault
    with pytest.raises(InjectedFault):
        dynamodb.transact_write_items(TransactItems=TRANSACTION)
    assert _kinds(log) == ["record_error"]


def test_without_a_plan_a_worker_installs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no plan in the environment / When the worker starts / Then no handler is added
    monkeypatch.setattr(handlers, "BUILTIN_HANDLERS", list(handlers.BUILTIN_HANDLERS))
    before = len(handlers.BUILTIN_HANDLERS)
    assert install_from_environment({}) is None
    assert len(handlers.BUILTIN_HANDLERS) == before


def test_the_fault_log_skips_a_line_torn_by_a_killed_writer(tmp_path: Path) -> None:
    # Given a log whose last line was cut short
    log = tmp_path / "faults.jsonl"
    FaultLog(log, "Fn").record("worker_kill")
    with log.open("a") as stream:
        stream.write('{"kind": "thr')
    # When it is read / Then the whole entries come back
    assert [(e["kind"], e["function"]) for e in read_fault_log(log)] == [("worker_kill", "Fn")]
    assert json.loads(log.read_text().splitlines()[0])["pid"] > 0
