"""Packaging: one locked source (uv.lock) for the project, the Lambda layer's pins and the Makefile's uv;
an operator's install (`session-ingest[cli]`) runs ingestctl without the emulator.

`layers/core/requirements.txt` is what SAM pip-installs into the layer; it is generated from the lock
(`make layer-requirements`), so these tests fail when the two drift apart.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from uv import find_uv_bin

REPO_ROOT = Path(__file__).resolve().parents[3]
LAYER_REQUIREMENTS = REPO_ROOT / "layers" / "core" / "requirements.txt"
# The same options as the Makefile's LAYER_EXPORT (uv writes them into the file's header).
LAYER_EXPORT = ["export", "--frozen", "--no-hashes", "--no-emit-project", "--no-dev", "--no-editable"]
# The SDK the Lambda Python runtime provides: a copy in the layer would shadow the runtime's.
RUNTIME_SDK = {"boto3", "botocore", "s3transfer", "urllib3", "aws-xray-sdk"}


def _uv(*arguments: str) -> str:
    done = subprocess.run(
        [find_uv_bin(), *arguments], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _requirement_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.lstrip().startswith("#")]


def _layer_requirements() -> dict[str, Requirement]:
    requirements = [Requirement(line) for line in _requirement_lines(LAYER_REQUIREMENTS.read_text())]
    return {canonicalize_name(requirement.name): requirement for requirement in requirements}


def test_the_lock_is_up_to_date_with_pyproject() -> None:
    # Given pyproject.toml and the committed uv.lock
    # When uv checks, without the network, that the lock still satisfies pyproject
    # Then it does (after an edit of the dependencies: `uv lock`, then `make layer-requirements`)
    _uv("lock", "--check", "--offline", "--quiet")


def test_the_layer_requirements_are_generated_from_the_lock() -> None:
    # Given the committed layer requirements
    committed = LAYER_REQUIREMENTS.read_text()
    # When they are exported again from uv.lock
    exported = _uv(*LAYER_EXPORT, "--quiet")
    # Then nothing differs (else: make layer-requirements)
    assert committed == exported


def test_every_layer_requirement_is_an_exact_pin() -> None:
    # Given the layer requirements
    requirements = _layer_requirements()
    # Then each names one version, no range and no URL
    assert requirements
    for name, requirement in requirements.items():
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", name
        assert requirement.url is None, name


def test_the_layer_ships_the_product_dependencies_and_not_the_runtime_sdk() -> None:
    # Given pyproject's base dependencies: what the layer is for
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    base = {canonicalize_name(Requirement(line).name) for line in project["dependencies"]}
    # When the layer's requirements are read
    shipped = set(_layer_requirements())
    # Then every base dependency is pinned in it, and none of the SDK the runtime provides
    assert base <= shipped
    assert not shipped & RUNTIME_SDK
    assert "aws-lambda-powertools" in base


@pytest.mark.parametrize(
    ("schema_format", "invalid", "library"),
    [
        ("date-time", "2026-06-15 09:00", "rfc3339-validator"),
        ("uri", "no scheme", "rfc3986-validator"),
        ("hostname", "-leading-dash.example", "fqdn"),
        ("idn-hostname", "a..b", "idna"),
        ("json-pointer", "no-leading-slash", "jsonpointer"),
        ("uri-template", "{unclosed", "uri-template"),
    ],
)
def test_the_layer_makes_jsonschema_assert_the_format(schema_format: str, invalid: str, library: str) -> None:
    # Given an endpoint schema with a `format` (jsonschema skips a format whose checker library is absent)
    validator = Draft202012Validator(
        {"format": schema_format}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    # When a value breaking it is validated
    errors = list(validator.iter_errors(invalid))
    # Then it is refused, and the library that checks it ships in the layer
    assert errors, f"{schema_format} is not checked"
    assert library in _layer_requirements()


def test_the_makefile_bootstraps_the_uv_the_lock_pins() -> None:
    # Given the uv version the Makefile installs with pip into a new .venv
    makefile = (REPO_ROOT / "Makefile").read_text()
    match = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert match is not None
    # When the lock's uv (a dev dependency) is read
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    locked = {package["name"]: package["version"] for package in lock["package"]}
    # Then they are the same, so `uv sync` never swaps the uv that runs it
    assert locked["uv"] == match.group(1)


# Runs ingestctl in a fresh interpreter where the modules named in argv[1] cannot be imported.
_RUN_WITHOUT = """
import json, runpy, sys
for name in json.loads(sys.argv[1]):
    sys.modules[name] = None
sys.argv = ["ingestctl", *sys.argv[2:]]
runpy.run_module("ingestctl", run_name="__main__")
"""
EMULATOR_MODULES = ("moto", "werkzeug", "yaml", "flask")


def _ingestctl_without(modules: Iterable[str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUN_WITHOUT, json.dumps(sorted(modules)), *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _outside_the_cli_extra() -> set[str]:
    """Top-level modules of this environment that `pip install session-ingest[cli]` would not install."""
    exported = _uv("export", "--frozen", "--no-hashes", "--no-emit-project", "--extra", "cli", "--no-header")
    cli_install = {canonicalize_name(Requirement(line).name) for line in _requirement_lines(exported)}
    cli_install.add(canonicalize_name("session-ingest"))
    return {
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if not cli_install & {canonicalize_name(distribution) for distribution in distributions}
    }


def test_ingestctl_starts_without_the_emulator() -> None:
    # Given an environment where moto and the rest of the emulator cannot be imported
    # When ingestctl starts
    done = _ingestctl_without(EMULATOR_MODULES, "--help")
    # Then it lists its commands: nothing at start imports the emulator
    assert done.returncode == 0, done.stderr
    assert "local" in done.stdout
    assert "endpoint" in done.stdout


def test_ingestctl_starts_with_only_what_the_cli_extra_installs() -> None:
    # Given only the distributions of `session-ingest[cli]` importable (no moto, no dev tools)
    outside = _outside_the_cli_extra()
    assert {"moto", "werkzeug", "yaml", "pytest"} <= outside
    # When ingestctl starts
    done = _ingestctl_without(outside, "--help")
    # Then it starts
    assert done.returncode == 0, done.stderr


def test_local_up_without_the_emulator_says_what_to_install() -> None:
    # Given an operator's install, without the `local` extra
    # When the local stack is asked for
    done = _ingestctl_without(EMULATOR_MODULES, "local", "up")
    # Then it exits 2 naming the extra to install, with no traceback
    assert done.returncode == 2
    assert "session-ingest[local]" in done.stderr
    assert "Traceback" not in done.stderr
