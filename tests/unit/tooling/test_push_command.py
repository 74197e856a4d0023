"""`ingestctl push` (contract §9): token sources, the JSON summary on stdout, and the exit codes 0/1/2/3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingestctl import push_client
from ingestctl.cli import app
from tests.unit.tooling.fake_batch_api import (
    API_URL,
    ENDPOINT_ID,
    GOOD_TOKEN,
    FakeBatchApi,
    FakeClock,
    session,
)

runner = CliRunner()


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeBatchApi:
    fake = FakeBatchApi(FakeClock())
    monkeypatch.setattr(push_client, "urllib_transport", lambda: fake)
    monkeypatch.setenv("INGEST_TOKEN", GOOD_TOKEN)
    return fake


def push(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["push", "--api-url", API_URL, "--endpoint-id", ENDPOINT_ID, *args], input=input
    )
    return result.exit_code, result.stdout, result.stderr


def ndjson(*payloads: object) -> str:
    return "".join(json.dumps(payload) + "\n" for payload in payloads)


def test_every_item_queued_prints_the_summary_and_exits_0(api: FakeBatchApi) -> None:
    # Given two valid payloads on stdin
    # When pushed
    code, stdout, _ = push("-", input=ndjson(session(1), session(2)))
    # Then stdout is the summary of the contract and the exit code 0
    assert code == 0
    assert json.loads(stdout) == {
        "items": 2,
        "queued": 2,
        "invalid": 0,
        "processed": 0,
        "failed": 0,
        "created": 0,
        "updated": 0,
        "pending": 0,
        "problems": [],
    }


def test_an_invalid_item_exits_1_and_is_named_by_index(api: FakeBatchApi, tmp_path: Path) -> None:
    # Given a JSON array file whose second payload is invalid
    source = tmp_path / "agenda.json"
    source.write_text(json.dumps([session(1), {"title": "no session"}]))
    # When pushed
    code, stdout, _ = push(str(source))
    # Then the exit code is 1 and the problem names index 1
    assert code == 1
    assert [(p["index"], p["status"]) for p in json.loads(stdout)["problems"]] == [(1, "invalid")]


def test_a_malformed_line_exits_2_naming_it_and_sends_nothing(api: FakeBatchApi) -> None:
    # Given NDJSON whose third line is not JSON
    data = ndjson(session(1), session(2)) + '{"session": {"name": "x"\n'
    # When pushed
    code, stdout, stderr = push("-", input=data)
    # Then exit 2, the line is named, and no request was made
    assert code == 2
    assert "line 3:" in stderr
    assert stdout == ""
    assert api.calls == []


def test_a_refused_token_exits_3_with_a_clear_message(
    api: FakeBatchApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a token the service does not accept
    monkeypatch.setenv("INGEST_TOKEN", "sit_wrong")
    # When pushed
    code, stdout, stderr = push("-", input=ndjson(session(1)))
    # Then exit 3, the message says the token was refused, and the summary reports nothing queued
    assert code == 3
    assert "token was refused (401)" in stderr
    assert json.loads(stdout)["queued"] == 0
    assert "sit_wrong" not in stderr + stdout


def test_the_token_can_come_from_a_file(
    api: FakeBatchApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given no INGEST_TOKEN but a token file (with a trailing newline, as editors write it)
    monkeypatch.delenv("INGEST_TOKEN")
    token_file = tmp_path / "token"
    token_file.write_text(GOOD_TOKEN + "\n")
    # When pushed with --token-file
    code, _, _ = push("--token-file", str(token_file), "-", input=ndjson(session(1)))
    # Then the service accepted it
    assert code == 0
    assert api.posts[0].headers["Authorization"] == f"Bearer {GOOD_TOKEN}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token", GOOD_TOKEN, "-"], "No such option"),
        (["--batch-size", "101", "-"], "--batch-size"),
        (["--batch-size", "0", "-"], "--batch-size"),
        (["missing-file.ndjson"], "cannot read missing-file.ndjson"),
    ],
    ids=["token on argv", "batch too big", "batch empty", "missing file"],
)
def test_usage_errors_exit_2_and_send_nothing(api: FakeBatchApi, args: list[str], message: str) -> None:
    # Given a usage mistake
    # When pushed
    code, _, stderr = push(*args, input=ndjson(session(1)))
    # Then exit 2 with the reason, and no request was made
    assert code == 2
    assert message in stderr
    assert api.calls == []


def test_without_any_token_it_exits_2(api: FakeBatchApi, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given neither INGEST_TOKEN nor --token-file
    monkeypatch.delenv("INGEST_TOKEN")
    # When pushed
    code, _, stderr = push("-", input=ndjson(session(1)))
    # Then exit 2 naming both sources
    assert code == 2
    assert "INGEST_TOKEN" in stderr
    assert "--token-file" in stderr
    assert api.calls == []
