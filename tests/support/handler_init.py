"""Importing a handler module in a fresh interpreter, as Lambda's init does, and reading what it left."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from ingestctl.local.functions import function_specs


def after_importing(handler: str, report: str) -> Any:
    """The JSON that `report` (Python code run after the import, printing one JSON document last) printed.

    The interpreter has only the functions' code directories and the installed project: no AWS client is
    made.
    """
    code = f"import importlib, sys\nimportlib.import_module(sys.argv[1])\n{report}"
    python_path = ":".join(str(spec.code_dir) for spec in function_specs())  # template.yaml's CodeUris
    result = subprocess.run(
        [sys.executable, "-c", code, handler],
        env={"PYTHONPATH": python_path, "AWS_REGION": "eu-west-1", "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
