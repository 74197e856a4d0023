"""Importing a handler module in a fresh interpreter, as Lambda's init does, and reading what it left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER_DIRS = [REPO_ROOT / "functions" / "ingest_api", REPO_ROOT / "functions" / "ingest_consumer"]


def after_importing(handler: str, report: str) -> Any:
    """The JSON that `report` (Python code run after the import, printing one JSON document last) printed.

    The interpreter has only the handlers' directories and the installed project: no AWS client is made.
    """
    code = f"import importlib, sys\nimportlib.import_module(sys.argv[1])\n{report}"
    python_path = ":".join(str(directory) for directory in HANDLER_DIRS)
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
