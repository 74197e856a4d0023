"""Finding the python3.13 that `sam build` needs (ingestctl.local.python313), with stand-in interpreters.

Each stand-in is a shell script answering the probe as an interpreter would: `True <path>` for a 3.13,
`False <path>` for another version, or failing as a pyenv shim does when its version is not selected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestctl.local import python313
from ingestctl.local.python313 import Python313Missing, find_python313

PYTHON_313 = "#!/bin/sh\necho True {path}\n"
PYTHON_312 = "#!/bin/sh\necho False {path}\n"
FAILING_SHIM = "#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n"


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body.format(path=path))
    path.chmod(0o755)
    return path


@pytest.fixture(autouse=True)
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Given a PATH holding only this test's folder, no $PYTHON313, and a uv that knows no interpreter
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("PYTHON313", raising=False)
    uv = _script(tmp_path / "uv", "#!/bin/sh\nexit 2\n")
    monkeypatch.setattr(python313, "_uv", lambda: str(uv))
    find_python313.cache_clear()
    yield bin_dir
    find_python313.cache_clear()


def test_a_failing_shim_on_path_is_skipped_for_pyenvs_installed_313(tmp_path: Path, bin_dir: Path) -> None:
    # Given pyenv's python3.13 shim on PATH, which fails because 3.13 is not selected
    _script(bin_dir / "python3.13", FAILING_SHIM)
    # And pyenv itself, which has 3.13.0 installed
    root = tmp_path / "pyenv"
    pyenv = f'#!/bin/sh\n[ "$1" = root ] && echo {root} || echo 3.13.0\n'
    _script(bin_dir / "pyenv", pyenv)
    installed = _script(root / "versions" / "3.13.0" / "bin" / "python3.13", PYTHON_313)
    # When python3.13 is looked for
    found = find_python313()
    # Then the installed interpreter is found, not the shim
    assert found == str(installed)


def test_python3_13_on_path_is_taken_when_it_runs(bin_dir: Path) -> None:
    # Given a working python3.13 on PATH
    on_path = _script(bin_dir / "python3.13", PYTHON_313)
    # When python3.13 is looked for
    # Then it is the one found
    assert find_python313() == str(on_path)


def test_the_interpreter_named_by_python313_comes_first(
    tmp_path: Path, bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a working python3.13 on PATH and another one named by $PYTHON313
    _script(bin_dir / "python3.13", PYTHON_313)
    named = _script(tmp_path / "chosen" / "python3.13", PYTHON_313)
    monkeypatch.setenv("PYTHON313", str(named))
    # When python3.13 is looked for
    # Then the named one is found
    assert find_python313() == str(named)


def test_one_known_to_uv_is_found(tmp_path: Path, bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given nothing on PATH, but an interpreter uv knows (e.g. from `uv python install 3.13`)
    managed = _script(tmp_path / "uv-python" / "python3.13", PYTHON_313)
    uv = _script(tmp_path / "uv-knowing", f"#!/bin/sh\necho {managed}\n")
    monkeypatch.setattr(python313, "_uv", lambda: str(uv))
    # When python3.13 is looked for
    # Then uv's is found
    assert find_python313() == str(managed)


def test_an_interpreter_of_another_version_is_not_taken(bin_dir: Path) -> None:
    # Given a "python3.13" on PATH that is really another version
    _script(bin_dir / "python3.13", PYTHON_312)
    # When python3.13 is looked for
    # Then none is found, and the error says how to get or name one
    with pytest.raises(Python313Missing) as missing:
        find_python313()
    assert "uv python install 3.13" in str(missing.value)
    assert "PYTHON313=" in str(missing.value)


def test_the_command_explains_what_is_missing_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    # Given no python3.13 anywhere
    # When `python -m ingestctl.local.python313` runs
    status = python313.main()
    # Then it exits 1 with the explanation on stderr and nothing on stdout
    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    assert "sam build" in captured.err


def test_the_command_prints_the_interpreter_found(bin_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a working python3.13 on PATH
    on_path = _script(bin_dir / "python3.13", PYTHON_313)
    # When `python -m ingestctl.local.python313` runs
    status = python313.main()
    # Then it prints the interpreter's path and exits 0
    assert status == 0
    assert capsys.readouterr().out == f"{on_path}\n"
