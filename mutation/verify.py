"""Checks the module-level pass's verdicts against plain pytest.

The pass puts each mutant in place of its module inside a process that has imported and collected
the tests already (mutation/module_level.py), which is fast but not how the code normally runs.
Here each named mutant is written into a copy of the repository and the whole `pytest tests/unit`
runs there, from a fresh process (stopping at the first failure); both verdicts are printed.

    python -m mutation.verify NAME...   (names as `make mutation` prints them, e.g.
                                         dispatch.domain.statuses:STATUS_RANK__7)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mutation.module_level import RESULTS, mutants_of
from mutation.targets import LAYER, ROOT, TARGETS

PYTEST = ["-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "tests/unit"]
COPY_IGNORES = shutil.ignore_patterns(".git", ".venv", "mutants", "__pycache__", "*_cache", ".aws-sam")


def verdict(copy: Path, module: str, source: str) -> str:
    path = copy / LAYER.relative_to(ROOT) / Path(*module.split(".")).with_suffix(".py")
    original = path.read_text()
    path.write_text(source)
    try:
        env = {**os.environ, "PYTHONPATH": f"{copy}:{copy / LAYER.relative_to(ROOT)}"}
        code = subprocess.call(
            [sys.executable, *PYTEST],
            cwd=copy,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        path.write_text(original)
    # 2 and 4: a mutant that breaks an import breaks the collection (in conftest.py: a usage error)
    return {0: "survived", 1: "killed", 2: "killed", 4: "killed"}.get(code, f"pytest exit status {code}")


def main(names: list[str]) -> int:
    fast = {m["name"]: m["status"] for m in json.loads(RESULTS.read_text())}
    mutants = {m.name: m for path in TARGETS for m in mutants_of(path)}
    disagreements = 0
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / ROOT.name
        shutil.copytree(ROOT, copy, ignore=COPY_IGNORES)
        for name in names:
            plain = verdict(copy, mutants[name].module, mutants[name].source)
            disagreements += plain != fast[name]
            print(f"{name}: fast pass {fast[name]}, pytest tests/unit {plain}", flush=True)
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
