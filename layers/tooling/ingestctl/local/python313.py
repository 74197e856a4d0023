"""Find a python3.13 that runs: the Lambda runtime's version, which `sam build` needs on PATH.

SAM builds the layer with `BuildMethod: python3.13` (pip of that interpreter), the Makefile precompiles
the build with it, and the build-artifact tests and the cold-start benchmark import the built functions
with it. `python -m ingestctl.local.python313` prints the interpreter's path (the Makefile puts its folder
first on PATH for SAM), or says what is missing and exits 1.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

# Names an interpreter explicitly (`make sam-build PYTHON313=/path/to/python3.13`).
PYTHON313_VARIABLE = "PYTHON313"
MISSING = (
    "sam build (BuildMethod: python3.13) needs a python3.13 that runs, and none was found: "
    f"not ${PYTHON313_VARIABLE}, not python3.13 on PATH, not `uv python find 3.13`, not pyenv's 3.13. "
    "Install one (`.venv/bin/uv python install 3.13`, or `pyenv install 3.13`) "
    f"or name it: make sam-build {PYTHON313_VARIABLE}=/path/to/python3.13"
)
# A pyenv shim named python3.13 exists even when 3.13 is not selected, and then fails: run each candidate.
_PROBE = "import sys; print(sys.version_info[:2] == (3, 13), sys.executable)"


class Python313Missing(RuntimeError):
    """No python3.13 that runs was found (the message says how to get one)."""


def _stdout(command: Sequence[str]) -> str | None:
    """What `command` prints when it succeeds, else None (also when it does not exist)."""
    try:
        done = subprocess.run(  # noqa: S603 - fixed commands, no shell
            command, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _uv() -> str:
    """The project's uv (beside this interpreter in .venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("uv")
    return str(beside) if beside.exists() else "uv"


def _candidates() -> Iterator[str]:
    """Interpreters to try, in order: named, on PATH, known to uv, installed by pyenv."""
    named = os.environ.get(PYTHON313_VARIABLE)
    if named:
        yield named
    on_path = shutil.which("python3.13")
    if on_path:
        yield on_path
    known_to_uv = _stdout([_uv(), "python", "find", "3.13"])
    if known_to_uv:
        yield known_to_uv
    pyenv_root, pyenv_version = _stdout(["pyenv", "root"]), _stdout(["pyenv", "latest", "3.13"])
    if pyenv_root and pyenv_version:
        yield str(Path(pyenv_root) / "versions" / pyenv_version / "bin" / "python3.13")


@functools.cache
def find_python313() -> str:
    """Path of the first python3.13 that runs (the interpreter itself, never a shim)."""
    for candidate in _candidates():
        verdict, _, executable = (_stdout([candidate, "-c", _PROBE]) or "").partition(" ")
        if verdict == "True":
            return executable
    raise Python313Missing(MISSING)


def main() -> int:
    try:
        print(find_python313())
    except Python313Missing as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
