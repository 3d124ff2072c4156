"""Fail unless every Python module of a build carries bytecode Lambda's python3.13 will use.

    python3.13 tools/check_bytecode.py [.aws-sam/build]

Every `.py` file under each built resource (the layer and every function directory) must have
a `__pycache__/<name>.<cache tag>.pyc` of this interpreter, in unchecked-hash mode, compiled
from exactly that source (its hash matches). Run it with the Lambda runtime's Python (3.13): the
magic number and cache tag are the interpreter's. Standard library only.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

# PEP 552 flags: bit 0 = hash-based, bit 1 = check the source. Unchecked hash = 0b01.
UNCHECKED_HASH = 0b01


def problem(source: Path) -> str | None:
    """Why `source` lacks usable bytecode, or None when its .pyc is there and right."""
    pyc = Path(importlib.util.cache_from_source(str(source)))
    if not pyc.is_file():
        return "no .pyc"
    header = pyc.read_bytes()[:16]
    if header[:4] != importlib.util.MAGIC_NUMBER:
        return "compiled by another Python version"
    flags = int.from_bytes(header[4:8], "little")
    if flags != UNCHECKED_HASH:
        return "not unchecked-hash (a timestamp or checked .pyc is recompiled on a read-only file system)"
    if header[8:16] != importlib.util.source_hash(source.read_bytes()):
        return "stale: compiled from another version of the source"
    return None


def check(build_dir: Path) -> dict[str, list[str]]:
    """Resource directory -> its problems (one line per module), for every built resource."""
    report = {}
    for resource in sorted(path for path in build_dir.iterdir() if path.is_dir()):
        sources = sorted(resource.rglob("*.py"))
        problems = [
            f"{source.relative_to(build_dir)}: {why}" for source in sources if (why := problem(source))
        ]
        if not sources:
            problems.append(f"{resource.name}: no Python modules at all")
        report[resource.name] = problems
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", nargs="?", default=".aws-sam/build", type=Path)
    args = parser.parse_args(argv)
    if not args.build_dir.is_dir():
        print(f"{args.build_dir}: no such build directory (run sam build first)", file=sys.stderr)
        return 1
    report = check(args.build_dir)
    if not report:
        print(f"{args.build_dir}: no built resources", file=sys.stderr)
        return 1
    failed = {name: problems for name, problems in report.items() if problems}
    for name, problems in failed.items():
        print(f"{name}: {len(problems)} module(s) without usable bytecode", file=sys.stderr)
        for line in problems[:10]:
            print(f"  {line}", file=sys.stderr)
    if failed:
        return 1
    print(
        f"bytecode ({sys.implementation.cache_tag}, unchecked-hash) for every module of: {', '.join(report)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
