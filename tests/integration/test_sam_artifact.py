"""What `sam build` produced is complete: each function imports and answers from its build output alone.

Each handler is imported by a fresh `python3.13 -I -S -B` whose path is only the function's build
directory, the built layer and a stand-in for the runtime's boto3 (ingestctl/local/artifact.py), with the
environment the template gives it. The import runs on the x86_64 build (this machine's CPU); the arm64
build that `sam deploy` ships is checked to hold the same distributions, compiled for aarch64.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from ingestctl.local.artifact import (
    DEPLOY_BUILD_DIR,
    HOST_BUILD_DIR,
    RUNTIME_SDK_DIR,
    BuiltFunction,
    built_functions,
    run_isolated,
)
from tests.integration.sam_build import require_build
from tests.support.consumer import sqs_event, sqs_record

FUNCTIONS = ("IngestApiFunction", "IngestConsumerFunction")
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "aarch64"}
PACKAGES = ("session_ingest", "pydantic_core", "aws_lambda_powertools", "boto3")

PROBE = """
import importlib, json, sys
handler = getattr(importlib.import_module({module!r}), {attribute!r})
origin = lambda name: getattr(sys.modules[name], "__file__", None)
print(json.dumps({{
    "callable": callable(handler),
    "python": list(sys.version_info[:2]),
    "site_packages": [entry for entry in sys.path if "site-packages" in entry],
    "origins": {{name: origin(name) for name in {packages!r}}},
}}))
"""


def lambda_environment(function: BuiltFunction) -> dict[str, str]:
    """The template's variables for the function, plus what the Lambda runtime itself sets."""
    return {
        **function.environment,
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "LAMBDA_TASK_ROOT": str(function.code_dir),
    }


@pytest.fixture(scope="module")
def host_functions() -> dict[str, BuiltFunction]:
    require_build(HOST_BUILD_DIR)
    return built_functions(HOST_BUILD_DIR)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_built_handler_imports_under_python313_from_its_code_layer_and_the_runtime_sdk_only(
    host_functions: dict[str, BuiltFunction], name: str
) -> None:
    # Given the built function and nothing else on the path
    function = host_functions[name]
    # When its handler is imported by an isolated python3.13
    result = run_isolated(
        function.sys_path(),
        PROBE.format(module=function.module, attribute=function.attribute, packages=PACKAGES),
        lambda_environment(function),
    )
    # Then it imports, with its package and dependencies from the layer and boto3 from the runtime
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["callable"] is True
    assert probe["python"] == [3, 13]
    assert probe["site_packages"] == []
    (layer,) = function.layer_dirs
    for package in ("session_ingest", "pydantic_core", "aws_lambda_powertools"):
        assert Path(probe["origins"][package]).is_relative_to(layer), package
    assert Path(probe["origins"]["boto3"]).is_relative_to(RUNTIME_SDK_DIR)


def test_an_unreadable_message_runs_through_the_built_consumer_to_a_partial_batch_failure(
    host_functions: dict[str, BuiltFunction],
) -> None:
    # Given the built consumer and a message that is not an envelope (no AWS call is needed for it)
    function = host_functions["IngestConsumerFunction"]
    event = sqs_event(sqs_record("not an envelope", None, "message-1"))
    invoke = (
        f"import json, types\nfrom {function.module} import {function.attribute} as handler\n"
        "context = types.SimpleNamespace(function_name='c', memory_limit_in_mb=512, aws_request_id='r',\n"
        "    invoked_function_arn='arn:aws:lambda:eu-west-1:123456789012:function:c', function_version='1')\n"
        f"print('RESULT', json.dumps(handler(json.loads({json.dumps(event)!r}), context)))\n"
    )
    # When it is handed to the handler
    result = run_isolated(function.sys_path(), invoke, lambda_environment(function))
    # Then Powertools' batch processor, logging, metrics and the reply all work from the artifact
    assert result.returncode == 0, result.stderr
    reply = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    assert json.loads(reply.removeprefix("RESULT ")) == {
        "batchItemFailures": [{"itemIdentifier": "message-1"}]
    }


def elf_machine(path: Path) -> str:
    with path.open("rb") as handle:
        header = handle.read(20)
    (machine,) = struct.unpack_from("<H", header, 18)
    return ELF_MACHINES.get(machine, hex(machine))


def distributions(layer: Path) -> set[str]:
    return {entry.name for entry in layer.glob("*.dist-info")}


def test_the_deployed_layer_is_the_imported_one_compiled_for_arm64() -> None:
    # Given both builds of the layer
    require_build(DEPLOY_BUILD_DIR)
    require_build(HOST_BUILD_DIR)
    (deployed,) = {f.layer_dirs[0] for f in built_functions(DEPLOY_BUILD_DIR).values()}
    (imported,) = {f.layer_dirs[0] for f in built_functions(HOST_BUILD_DIR).values()}
    # When their distributions and native extensions are read
    deployed_machines = {elf_machine(path) for path in deployed.rglob("*.so")}
    imported_machines = {elf_machine(path) for path in imported.rglob("*.so")}
    # Then they hold the same versions, arm64 code for Lambda and x86_64 code for this machine
    assert distributions(deployed) == distributions(imported)
    assert deployed_machines == {"aarch64"}
    assert imported_machines == {"x86_64"}
