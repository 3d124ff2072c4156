"""The score per module, from mutmut's results and the module-level pass, less the equivalent
mutants listed in mutation/equivalents.toml (not run unless `--all`: reported as equivalent)."""

from __future__ import annotations

import ast
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mutmut.stats import status_by_exit_code

from mutation import mutmut_shim
from mutation.equivalents import EQUIVALENTS, SKIPPED, Change, change, equivalents
from mutation.module_level import import_time_functions
from mutation.targets import ROOT, TARGETS, module_of

SURVIVORS = ROOT / "mutants" / "survivors.toml"
TARGET_SCORE = 0.95
# Detected, even if not by a failing assertion: the tests could not finish, or the process died.
DETECTED = {"killed", "timeout", "segfault", "caught by type check"}


@dataclass(frozen=True)
class Result:
    module: str
    scope: str
    line: int
    removed: tuple[str, ...]
    added: tuple[str, ...]
    status: str
    name: str  # mutmut's name, or module:line:scope for the module-level pass

    @property
    def change(self) -> Change:
        return change(self.module, self.scope, self.removed, self.added)


def _function_lines(path: Path) -> dict[str, int]:
    """Where each function and method starts, by `name` or `Class.name`."""
    lines: dict[str, int] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            lines[node.name] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef):
                    lines[f"{node.name}.{member.name}"] = member.lineno
    return lines


def mutmut_results() -> list[Result]:
    """mutmut's verdicts; the changed lines only for mutants that were not detected."""
    mutmut_shim.install()
    os.chdir(ROOT)
    results = []
    for path in TARGETS:
        relative = path.relative_to(ROOT)
        meta = ROOT / "mutants" / f"{relative}.meta"
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        source_lines = path.read_text().splitlines()
        starts = _function_lines(path)
        import_time = import_time_functions(path)
        for name, code in exit_codes.items():
            # 255: the test run itself broke (mutmut counts it a timeout): never a kill.
            status = "error" if code == 255 else status_by_exit_code[code]
            scope = mutmut_shim.mutant_scope(name)
            if scope in import_time:
                continue  # called only during the import, before mutmut can switch it: module_level.py's
            removed: tuple[str, ...] = ()
            added: tuple[str, ...] = ()
            line = starts.get(scope, 0)
            if status not in DETECTED:
                removed, added = mutmut_shim.mutant_diff(name, relative)
                if removed:
                    found = [i for i, text in enumerate(source_lines, 1) if text.strip() == removed[0]]
                    line = next((i for i in found if i >= line), line)
            results.append(Result(module_of(path), scope, line, removed, added, status, name))
    return results


def module_level_results() -> list[Result]:
    stored = json.loads((ROOT / "mutants" / "module-level.json").read_text())
    return [
        Result(
            m["module"],
            m["scope"],
            m["line"],
            tuple(m["removed"]),
            tuple(m["added"]),
            m["status"],
            m["name"],
        )
        for m in stored
    ]


def _toml(result: Result) -> str:
    def strings(lines: tuple[str, ...]) -> str:
        return "[" + ", ".join(json.dumps(line) for line in lines) + "]"

    return (
        f"[[equivalent]]  # {result.status}, line {result.line}\n"
        f"module = {json.dumps(result.module)}\nscope = {json.dumps(result.scope)}\n"
        f'removed = {strings(result.removed)}\nadded = {strings(result.added)}\nreason = ""\n'
    )


def report(results: list[Result]) -> bool:
    """Print the table and the survivors; True when the score meets the target."""
    known = equivalents()
    used: set[tuple] = set()
    rows: dict[str, Counter] = {module_of(path): Counter() for path in TARGETS}
    survivors: list[Result] = []
    for result in results:
        row = rows[result.module]
        row["mutants"] += 1
        if result.status in DETECTED:
            row["killed"] += 1
        elif result.change in known:  # survived, or not run (skipped) because listed
            row["equivalent"] += 1
            row["not run"] += result.status == SKIPPED
            used.add(result.change)
        else:  # a skipped mutant no longer listed counts too: it was never shown to be killed
            row["survived"] += 1
            survivors.append(result)
    total = sum(rows.values(), Counter())

    def score(row: Counter) -> float:
        counted = row["mutants"] - row["equivalent"]
        return row["killed"] / counted if counted else 1.0

    header = f"{'module':<34} {'mutants':>8} {'equiv.':>7} {'killed':>7} {'survived':>9} {'score':>7}"
    print(header)
    print("-" * len(header))
    for module, row in [*rows.items(), ("total", total)]:
        if module == "total":
            print("-" * len(header))
        print(
            f"{module:<34} {row['mutants']:>8} {row['equivalent']:>7} {row['killed']:>7} "
            f"{row['survived']:>9} {score(row):>7.1%}"
        )
    print(f"\nscore = killed / (mutants - equivalent); target {TARGET_SCORE:.0%}")
    if total["not run"]:
        print(
            f"{total['not run']} of the equivalent mutants were not run (listed in "
            f"{EQUIVALENTS.relative_to(ROOT)}; `python -m mutation --all` runs them)"
        )

    if survivors:
        print(f"\nSurvivors ({len(survivors)}):")
        for result in sorted(survivors, key=lambda r: (r.module, r.line)):
            print(f"  {result.module}:{result.line} {result.scope}  [{result.status}] {result.name}")
            for line in result.removed:
                print(f"      - {line}")
            for line in result.added:
                print(f"      + {line}")
        SURVIVORS.write_text("\n".join(_toml(result) for result in survivors))
        print(
            f"\nAs entries for {EQUIVALENTS.relative_to(ROOT)} (if equivalent): {SURVIVORS.relative_to(ROOT)}"
        )
    stale = set(known) - used
    if stale:
        print(
            f"\n{len(stale)} entries of {EQUIVALENTS.relative_to(ROOT)} match no mutant that survived or was "
            "skipped (killed now, or the code changed):"
        )
        for module, scope, removed, added in sorted(stale):
            print(f"  {module} {scope}: {' / '.join(removed)} -> {' / '.join(added)}")
    return score(total) >= TARGET_SCORE


def main() -> int:
    return 0 if report(mutmut_results() + module_level_results()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
