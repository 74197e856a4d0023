"""Access to `make sam-build`'s output for the tests that check the built artifact.

Locally, a missing build skips those tests with the command to run; in CI (`CI` set, where `make test`
builds first) a missing or stale build fails them, so the check cannot silently vanish.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingestctl.local.template import TEMPLATE_PATH


def require_build(build_dir: Path) -> Path:
    """The built template of `build_dir`, after checking it exists and is newer than template.yaml."""
    built = build_dir / "template.yaml"
    if not built.is_file():
        message = f"{built} is missing: run `make sam-build`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if built.stat().st_mtime < TEMPLATE_PATH.stat().st_mtime:
        pytest.fail(f"{built} is older than template.yaml: run `make sam-build`")
    return built
