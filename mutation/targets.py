"""What is mutated: the files [tool.mutmut] in pyproject.toml names (one list for both passes)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "dispatch"


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]


def _targets() -> list[Path]:
    config = _config()
    paths = []
    for source in config["source_paths"]:
        for path in sorted((ROOT / source).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if any(fnmatch.fnmatch(relative, p) for p in config["only_mutate"]) and not any(
                fnmatch.fnmatch(relative, p) for p in config.get("do_not_mutate", [])
            ):
                paths.append(path)
    return paths


TARGETS = _targets()


def module_of(path: Path) -> str:
    """layers/dispatch/dispatch/domain/sending.py -> dispatch.domain.sending"""
    return ".".join(path.resolve().relative_to(LAYER).with_suffix("").parts)
