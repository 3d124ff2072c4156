"""mutmut 3, adapted to this repository's layout and made fast enough for `make mutation`.

1. Names. mutmut names a mutant after its file's path (layers/dispatch/dispatch/domain/sending.py
   gives `layers.dispatch.dispatch.domain.sending.x_send_step__mutmut_1`), while its trampolines
   record the tests that ran a function under the function's module (`dispatch.domain.sending`).
   Without the layer's folder in the name both agree, and mutmut can pick the tests of a mutant.

2. Speed. mutmut runs `pytest.main(<the mutant's tests>)` in a process forked per mutant, so each
   mutant pays for collecting its tests again (about a second for test_workflow_request.py's
   parametrized cases, more than running them). Here the fork server collects the unit tests once
   (mutation/collected.py) and each forked mutant runs its already collected tests, the mutated
   module's own test files first and the tests that killed its earlier mutants before them,
   stopping at the first failure. If that cannot be set up (a
   pytest whose internals differ), mutmut's own way is used.

3. Skips. The mutants listed in mutation/equivalents.toml are not run (an equivalent mutant
   survives, after running every test of its function): mutmut records them as "skipped", which
   the report counts as equivalent. `--all` runs them too. Mutants of functions called only during
   the import are skipped likewise: mutmut cannot switch them (mutation/module_level.py does).

4. Timeouts. A mutant that loops for ever is stopped once it has used 3 times its tests'
   estimated time, plus 3 s, of CPU (`timeout_multiplier` in [tool.mutmut]: mutmut's CPU bound is
   2 x multiplier x (estimate + 1 s); with its default of 15 one such mutant held a test process
   for over 3 minutes). mutmut's wall-time bound, half the CPU one, is made 4 times looser here,
   so that a busy machine cannot turn a slow survivor into a "timeout" (a kill).

Run as `python -m mutation.mutmut_shim [--all] <mutmut arguments>`, e.g. `run`, `results`,
`show NAME`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mutmut.__main__ as mutmut_main
import mutmut.mutation.file_mutation as file_mutation
import mutmut.utils.format_utils as format_utils
import mutmut.workers.isolation as isolation
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.runners.harness import PytestRunner
from mutmut.utils.file_utils import change_cwd
from mutmut.utils.format_utils import orig_function_and_class_names_from_key

from mutation.collected import collect, killers_first, own_files_first, run_until_failure, warm_up_moto
from mutation.equivalents import change, equivalents
from mutation.targets import ROOT, TARGETS, module_of

LAYER_PREFIX = "layers.dispatch."
SKIPPED_EXIT_CODE = 34  # mutmut's "skipped"
WALL_TIMEOUT_FACTOR = 4  # the wall-time bound, as a multiple of mutmut's (see 4. above)
_get_mutant_name = format_utils.get_mutant_name


def get_mutant_name(relative_source_path: Path, mutant_method_name: str) -> str:
    return _get_mutant_name(relative_source_path, mutant_method_name).removeprefix(LAYER_PREFIX)


class PreCollectedPytestRunner(PytestRunner):
    """Collects once in the fork server; each mutant runs a subset of the collected items."""

    _session: Any = None
    _items: dict[str, Any] = {}
    _order: dict[str, int] = {}

    def warm_up(self) -> None:
        try:
            with change_cwd("mutants"):
                self._session = collect(
                    [
                        "--rootdir=.",
                        *self._pytest_add_cli_args_test_selection,
                        *self._pytest_add_cli_args,
                    ]
                )
                warm_up_moto()
            self._items = {item.nodeid: item for item in self._session.items}
            self._order = {item.nodeid: index for index, item in enumerate(self._session.items)}
        except Exception as error:  # noqa: BLE001 - mutmut's own (slower) way still works
            print(f"pre-collection failed ({error!r}); running pytest per mutant", file=sys.__stderr__)
            self._session = None
            super().warm_up()

    def run_tests(self, *, mutant_name: str | None, tests: Iterable[str]) -> int:
        tests = list(tests)
        if self._session is None or not tests:
            return super().run_tests(mutant_name=mutant_name, tests=tests)
        unknown = [test for test in tests if test not in self._items]
        if unknown:  # a test id that differs between collections (e.g. a random parameter)
            print(f"{mutant_name}: tests not collected again: {unknown}", file=sys.__stderr__)
            return 33  # mutmut's "no tests": reported as not killed, never as a kill
        function = (mutant_name or "").partition("__mutmut_")[0]
        module = function.rpartition(".")[0]
        selected = own_files_first(module, [self._items[test] for test in tests], self._order)
        selected = killers_first(module, function, selected)
        with change_cwd("mutants"):
            return 0 if run_until_failure(self._session, selected, module=module, key=function) else 1


def mutant_scope(name: str) -> str:
    """The function a mutmut mutant changes, as `name` or `Class.name`."""
    function, cls = orig_function_and_class_names_from_key(name)
    return f"{cls}.{function}" if cls else function


def mutant_diff(name: str, relative: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The lines a mutmut mutant removes and adds (run from the repository's root)."""
    diff = get_diff_for_mutant(name, path=relative).splitlines()[2:]
    removed = tuple(d[1:].strip() for d in diff if d.startswith("-"))
    added = tuple(d[1:].strip() for d in diff if d.startswith("+"))
    return removed, added


def mutants_to_skip() -> set[str]:
    """mutmut's names of the generated mutants that are listed as equivalent, or that change a
    function called only during the import."""
    from mutation.module_level import import_time_functions

    known = equivalents()
    listed_scopes = {(module, scope) for module, scope, _, _ in known}
    skip = set()
    for path in TARGETS:
        relative, module = path.relative_to(ROOT), module_of(path)
        meta = ROOT / "mutants" / f"{relative}.meta"
        names = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        import_time = import_time_functions(path)
        for name in names:
            scope = mutant_scope(name)
            if scope in import_time or (
                (module, scope) in listed_scopes
                and change(module, scope, *mutant_diff(name, relative)) in known
            ):
                skip.add(name)
    return skip


class _Skips:
    names: set[str] | None = None  # found on the first submit: the mutants exist by then


_submit = isolation.ForkServerRunner.submit


def submit(self: Any, mutant_name: str, tests: list[str], cpu_time_limit: int, estimated_time: float) -> None:
    if _Skips.names is None:
        _Skips.names = mutants_to_skip()
    if mutant_name in _Skips.names:
        # As mutmut itself answers a mutant without tests: no round trip through the fork server.
        self._no_tests_results.append(
            isolation.MutantResult(mutant_name=mutant_name, exit_code=SKIPPED_EXIT_CODE, duration=0.0)
        )
        return
    _submit(self, mutant_name, tests, cpu_time_limit, estimated_time)


_register_timeout = isolation.register_timeout


def register_timeout(pid: int, timeout_s: float) -> None:
    _register_timeout(pid, timeout_s * WALL_TIMEOUT_FACTOR)


def install(*, run_all: bool = False) -> None:
    # Every module that imported the function by name.
    for module in (format_utils, file_mutation, mutmut_main):
        module.get_mutant_name = get_mutant_name
    isolation.PytestRunner = PreCollectedPytestRunner
    isolation.ForkServerRunner.run_clean_tests = run_clean_tests
    isolation.register_timeout = register_timeout
    if not run_all:
        isolation.ForkServerRunner.submit = submit


_run_clean_tests = isolation.ForkServerRunner.run_clean_tests


def run_clean_tests(self: Any, tests: Iterable[str]) -> int:
    """mutmut's check that the tests pass unmutated. In a full run (no test named: every test)
    `python -m mutation` has just had mutmut collect its stats afresh, which ran every test and
    stops mutmut if one fails: running them all again costs a minute for nothing."""
    tests = list(tests)
    return _run_clean_tests(self, tests) if tests else 0


def main(argv: list[str]) -> int:
    run_all = "--all" in argv
    install(run_all=run_all)
    argv = [arg for arg in argv if arg != "--all"]
    try:
        mutmut_main.cli.main(argv, prog_name="mutmut", standalone_mode=False)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
