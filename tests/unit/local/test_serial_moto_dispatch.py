"""serial_moto answers moto's per-request dispatch lookups from memory, with moto's own answers."""

from __future__ import annotations

import pytest
from moto import backends
from moto.core import responses as moto_responses
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.responses import SQSResponse

from ingestctl.local.serial_moto import install_fast_dispatch


@pytest.fixture(autouse=True)
def _restore_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """The patch is process-wide: put moto's own lookups back after each test."""
    monkeypatch.setattr(backends, "list_of_moto_modules", backends.list_of_moto_modules)
    monkeypatch.setattr(
        moto_responses,
        "method_names_from_class",
        moto_responses.method_names_from_class,  # type: ignore[attr-defined]
    )


def test_the_service_packages_are_moto_s_own_on_every_request() -> None:
    # Given moto's own listing of its service packages
    listed = list(backends.list_of_moto_modules())
    # When the lookups are remembered
    install_fast_dispatch()
    # Then every request (not only the first) gets the same names
    for _ in range(3):
        assert list(backends.list_of_moto_modules()) == listed
    assert "dynamodb" in backends.list_of_moto_modules()


def test_a_response_class_s_actions_are_moto_s_own_for_each_class() -> None:
    # Given moto's own action names of two services' response classes
    own = moto_responses.method_names_from_class  # type: ignore[attr-defined]
    sqs_actions, dynamodb_actions = own(SQSResponse), own(DynamoHandler)
    # When the lookups are remembered
    install_fast_dispatch()
    remembered = moto_responses.method_names_from_class  # type: ignore[attr-defined]
    # Then each class keeps its own actions, on every request
    for _ in range(2):
        assert remembered(SQSResponse) == sqs_actions
        assert remembered(DynamoHandler) == dynamodb_actions
    assert "receive_message" in sqs_actions
    assert "transact_write_items" in dynamodb_actions
