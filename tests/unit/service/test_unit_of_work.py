"""The DynamoDB unit of work's policy, against botocore's Stubber (no network): results by item name,
retries of contention only, ValidationError permanent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from session_ingest import limits
from session_ingest.adapters.aws import client, reset_clients
from session_ingest.adapters.unit_of_work import DynamoUnitOfWork
from session_ingest.errors import StoreUnavailable, WriteRejected
from session_ingest.service.ports import Committed, ConditionFailed, Exhausted

ITEM = {"Put": {"TableName": "T", "Item": {"pk": {"S": "x"}}}}


@pytest.fixture
def stub() -> Iterator[Stubber]:
    reset_clients()
    with Stubber(client("dynamodb")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    reset_clients()


def _cancelled(stub: Stubber, *codes: str, item: dict[str, Any] | None = None) -> None:
    reasons: list[dict[str, Any]] = []
    for code in codes:
        reason: dict[str, Any] = {"Code": code}
        if code == "ConditionalCheckFailed" and item is not None:
            reason["Item"] = item
        reasons.append(reason)
    stub.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        http_status_code=400,
        response_meta={},
        modeled_fields={"CancellationReasons": reasons},
    )


def _unit(*names: str) -> tuple[DynamoUnitOfWork, list[float]]:
    slept: list[float] = []
    uow = DynamoUnitOfWork(sleep=slept.append)
    for name in names:
        uow.add(name, ITEM)
    return uow, slept


def test_a_transaction_that_applies_is_committed(stub: Stubber) -> None:
    stub.add_response("transact_write_items", {})
    uow, _ = _unit("request", "session")
    assert uow.commit() == Committed()


def test_a_failed_condition_is_named_with_the_item_as_stored(stub: Stubber) -> None:
    # Given the second item's condition fails, and DynamoDB returns it
    _cancelled(stub, "None", "ConditionalCheckFailed", item={"status": {"S": "processed"}})
    uow, slept = _unit("session", "request")
    # When committed  # Then the result names that item and holds its plain values; no retry
    result = uow.commit()
    assert result == ConditionFailed({"request": {"status": "processed"}})
    assert slept == []


def test_contention_is_retried_with_backoff_then_commits(stub: Stubber) -> None:
    _cancelled(stub, "TransactionConflict", "None")
    _cancelled(stub, "None", "ThrottlingError")
    stub.add_response("transact_write_items", {})
    uow, slept = _unit("request", "session")
    assert uow.commit() == Committed()
    assert len(slept) == 2


def test_contention_past_the_retries_is_exhausted(stub: Stubber) -> None:
    for _ in range(limits.TRANSACTION_CONFLICT_RETRIES + 1):
        _cancelled(stub, "TransactionConflict", "None")
    uow, _ = _unit("request", "session")
    assert uow.commit() == Exhausted({"request": "TransactionConflict", "session": "None"})


def test_a_validation_error_is_permanent_and_not_retried(stub: Stubber) -> None:
    _cancelled(stub, "None", "ValidationError")
    uow, slept = _unit("request", "session")
    with pytest.raises(WriteRejected):
        uow.commit()
    assert slept == []


def test_any_other_failure_is_the_store_unavailable(stub: Stubber) -> None:
    stub.add_client_error(
        "transact_write_items", service_error_code="InternalServerError", http_status_code=500
    )
    uow, _ = _unit("request")
    with pytest.raises(StoreUnavailable, match="InternalServerError"):
        uow.commit()


def test_an_item_name_is_used_once() -> None:
    uow, _ = _unit("request")
    with pytest.raises(ValueError, match="twice"):
        uow.add("request", ITEM)
