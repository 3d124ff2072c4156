"""`make mutation`: how many deliberate bugs in the domain rules the unit tests catch.

1. mutmut 3 mutates the function bodies of the modules [tool.mutmut] names in pyproject.toml and
   runs, for each mutant, the unit tests that ran that function (see mutation/mutmut_shim.py);
2. mutation/module_level.py mutates what mutmut leaves alone: module-level tables, enum values,
   pydantic fields and decorated validators;
3. mutation/report.py prints mutants, killed and survived per module, and the score
   killed / (mutants - equivalent), where the equivalent mutants are those listed, each with its
   reason, in mutation/equivalents.toml; then every survivor. Exit status 1 below the target.

Both passes skip the mutants listed as equivalent (each would run every test of its selection
and survive); `--all` runs them too, to check that none is killed now.

Not part of `make test`: it runs the unit tests a few thousand times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from mutation.equivalents import SKIPPED
from mutation.targets import ROOT

DETECTED = {"killed", "timeout", "segfault", "caught by type check"}  # as in report.py


def _run(step: str, argv: list[str], log: str) -> None:
    started = time.monotonic()
    print(f"{step} ... (log: mutants/{log})", flush=True)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    with open(ROOT / "mutants" / log, "w") as out:
        code = subprocess.call([sys.executable, "-m", *argv], cwd=ROOT, env=env, stdout=out, stderr=out)
    print(f"    done in {time.monotonic() - started:.0f} s", flush=True)
    if code != 0:
        raise SystemExit(f"{step} failed (exit status {code}); see mutants/{log}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Mutation testing of the domain rules.")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel test processes")
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="after adding tests: test again only the mutants the last run did not kill (the domain "
        "code must be unchanged since that run)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="run the mutants listed as equivalent in mutation/equivalents.toml too (slower)",
    )
    args = parser.parse_args()
    started = time.monotonic()
    jobs = str(args.jobs)
    every = ["--all"] if args.all else []
    survivors: list[str] = []
    if args.recheck:
        from mutation.report import mutmut_results

        undetected = DETECTED if args.all else DETECTED | {SKIPPED}
        survivors = [r.name for r in mutmut_results() if r.status not in undetected]
        print(f"rechecking {len(survivors)} mutmut mutants and the module-level survivors", flush=True)
    else:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    (ROOT / "mutants").mkdir(exist_ok=True)
    if survivors or not args.recheck:
        _run(
            "mutmut: function bodies",
            ["mutation.mutmut_shim", *every, "run", "--max-children", jobs, *survivors],
            "mutmut.log",
        )
    _run(
        "module-level tables, fields and validators",
        ["mutation.module_level", "--jobs", jobs, *every, *(["--recheck"] if args.recheck else [])],
        "module-level.log",
    )
    print()
    from mutation.report import main as report

    code = report()
    print(f"\nwall time {time.monotonic() - started:.0f} s with {jobs} parallel test processes")
    return code


if __name__ == "__main__":
    sys.exit(main())
