"""The functions `sam build` produced, and how to run one as the python3.13 Lambda runtime would.

Used by the build-artifact test and the cold-start benchmark. A built function is run by a fresh
`python3.13 -I -S -B` whose `sys.path` is exactly the runtime's order: the function's code (/var/task),
the layer (/opt/python), then the SDK the runtime provides (/var/runtime) — nothing from this repository's
virtualenv or the interpreter's site-packages. `-B` because Lambda's /var/task and /opt are read-only:
nothing is ever written back as bytecode there.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestctl.local.template import REPO_ROOT, load_template, resolve_value

# What `sam deploy` ships (the template's default architecture, arm64).
DEPLOY_BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
# The same template built with Architecture=x86_64, so this x86_64 machine can import and run it.
HOST_BUILD_DIR = REPO_ROOT / ".aws-sam" / "x86_64" / "build"
# Stand-in for the SDK the python3.13 runtime provides (boto3 is not bundled in the layer); the Makefile
# installs it with the version it pins.
RUNTIME_SDK_DIR = REPO_ROOT / ".tools" / "lambda-runtime"
# pyenv shims resolve python3.13 only when the version is selected.
PYTHON313_ENVIRONMENT = {"PYENV_VERSION": os.environ.get("PYENV_VERSION", "3.11.7:3.13.0")}

# Runs inside the isolated interpreter: the path comes in argv, never from the environment.
_BOOTSTRAP = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
exec(compile(sys.argv[2], "<artifact>", "exec"))
"""


class ArtifactMissing(RuntimeError):
    """The build output or the runtime stand-in is not there: run `make sam-build`."""


@dataclass(frozen=True)
class BuiltFunction:
    """One function of a build directory, as Lambda would load it."""

    logical_id: str
    module: str
    attribute: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    environment: dict[str, str]

    def sys_path(self, runtime_sdk_dir: Path = RUNTIME_SDK_DIR) -> list[str]:
        """The runtime's search order: function code, layers (/opt/python), the runtime's SDK."""
        return [str(self.code_dir), *(str(layer) for layer in self.layer_dirs), str(runtime_sdk_dir)]


def _environment(variables: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, str]:
    """Function environment with `Ref` to a resource replaced by `names` (default: its logical id)."""
    environment = {}
    for key, value in variables.items():
        if isinstance(value, dict) and "Ref" in value:
            environment[key] = names.get(value["Ref"], value["Ref"])
        else:
            environment[key] = str(value)
    return environment


def built_functions(
    build_dir: Path = HOST_BUILD_DIR,
    resource_names: Mapping[str, str] | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
) -> dict[str, BuiltFunction]:
    """Every function of the built template, with the environment the template gives it."""
    template_path = build_dir / "template.yaml"
    if not template_path.is_file():
        raise ArtifactMissing(f"{template_path} is missing: run `make sam-build`")
    template = load_template(template_path)
    function_globals = resolve_value(
        template, (template.get("Globals") or {}).get("Function", {}), parameter_overrides
    )
    functions = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resolve_value(template, resource["Properties"], parameter_overrides)
        module, attribute = props["Handler"].rsplit(".", 1)
        layers = props.get("Layers", function_globals.get("Layers", []))
        layer_dirs = tuple(
            build_dir / template["Resources"][layer["Ref"]]["Properties"]["ContentUri"] / "python"
            for layer in layers
        )
        variables = {
            **function_globals.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        functions[logical_id] = BuiltFunction(
            logical_id=logical_id,
            module=module,
            attribute=attribute,
            code_dir=build_dir / props["CodeUri"],
            layer_dirs=layer_dirs,
            environment=_environment(variables, resource_names or {}),
        )
    return functions


@functools.cache
def python313() -> str:
    """Path of a python3.13 interpreter (the Lambda runtime's version), or ArtifactMissing."""
    environment = {**os.environ, **PYTHON313_ENVIRONMENT}
    found = shutil.which("python3.13", path=environment.get("PATH"))
    if found:
        probe = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [found, "-c", "import sys; print(sys.version_info[:2] == (3, 13), sys.executable)"],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        verdict, _, executable = probe.stdout.strip().partition(" ")
        if verdict == "True":
            return executable  # the interpreter itself, not pyenv's shell shim
    raise ArtifactMissing("python3.13 not found (pyenv: PYENV_VERSION=3.11.7:3.13.0)")


def run_isolated(
    sys_path: Sequence[str],
    code: str,
    environment: Mapping[str, str],
    *,
    python: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh `python3.13 -I -S -B`: sys.path is `sys_path` plus the stdlib, no site-packages.

    `environment` is the whole environment of the child (plus PATH and the pyenv selector).
    """
    child_environment = {"PATH": os.environ.get("PATH", ""), **PYTHON313_ENVIRONMENT, **environment}
    return subprocess.run(  # noqa: S603 - our own interpreter and build output
        [python or python313(), "-I", "-S", "-B", "-c", _BOOTSTRAP, json.dumps(list(sys_path)), code],
        env=child_environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=Path(sys_path[0]),
    )
