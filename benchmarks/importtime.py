"""Where each built function's import time goes: `-X importtime` on the artifact (`make importtime`).

The handler is imported exactly as bench_cold_start imports it (ingestctl/artifact.py: a fresh isolated
python3.13, the function's build directory, the built layer and the runtime-SDK stand-in), once with
`-X importtime`. Printed per function: the modules with the largest cumulative import time (a module's
own time plus its imports'), and the top-level packages by their own time summed. `-X importtime`
slows every import down, so read the shares, not the absolute figures (bench_cold_start times those).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ingestctl.local.artifact import HOST_BUILD_DIR, built_functions, run_isolated

TOP = int(os.environ.get("IMPORTTIME_TOP", "25"))
BUILD_DIR = Path(os.environ.get("BENCH_BUILD_DIR", HOST_BUILD_DIR))
REGION = {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}


@dataclass(frozen=True)
class ImportTime:
    module: str
    depth: int
    self_us: int
    cumulative_us: int


def parse(stderr: str) -> list[ImportTime]:
    """The `import time: self | cumulative | name` lines of `-X importtime`, in the order printed."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        entries.append(ImportTime(name.strip(), depth, int(self_us), int(cumulative_us)))
    return entries


def by_package(entries: list[ImportTime]) -> list[tuple[str, int]]:
    totals: dict[str, int] = defaultdict(int)
    for entry in entries:
        totals[entry.module.split(".")[0]] += entry.self_us
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)


def main() -> None:
    for name, function in built_functions(BUILD_DIR).items():
        code = f"import {function.module}"
        result = run_isolated(
            function.sys_path(),
            code,
            {**function.environment, **REGION},
            interpreter_options=["-X", "importtime"],
        )
        if result.returncode != 0:
            raise SystemExit(f"{name} failed to import:\n{result.stderr[-3000:]}")
        entries = parse(result.stderr)
        total = sum(entry.self_us for entry in entries)
        print(
            f"{name} ({function.module}): {len(entries)} modules, {total / 1000:.0f} ms under -X importtime"
        )
        print(f"  {'cumulative ms':>13} {'self ms':>8}  module (indented by import depth)")
        for entry in sorted(entries, key=lambda e: e.cumulative_us, reverse=True)[:TOP]:
            print(
                f"  {entry.cumulative_us / 1000:13.1f} {entry.self_us / 1000:8.1f}  "
                f"{'  ' * entry.depth}{entry.module}"
            )
        print(f"  {'self ms':>13} {'share':>8}  top-level package")
        for package, self_us in by_package(entries)[:TOP]:
            print(f"  {self_us / 1000:13.1f} {self_us / total:8.0%}  {package}")
        print()


if __name__ == "__main__":
    main()
