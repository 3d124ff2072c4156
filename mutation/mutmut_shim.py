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

Run as `python -m mutation.mutmut_shim <mutmut arguments>`, e.g. `run`, `results`, `show NAME`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mutmut.__main__ as mutmut_main
import mutmut.mutation.file_mutation as file_mutation
import mutmut.utils.format_utils as format_utils
import mutmut.workers.isolation as isolation
from mutmut.runners.harness import PytestRunner
from mutmut.utils.file_utils import change_cwd

from mutation.collected import collect, killers_first, own_files_first, run_until_failure, warm_up_moto

LAYER_PREFIX = "layers.dispatch."
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


def install() -> None:
    # Every module that imported the function by name.
    for module in (format_utils, file_mutation, mutmut_main):
        module.get_mutant_name = get_mutant_name
    isolation.PytestRunner = PreCollectedPytestRunner
    isolation.ForkServerRunner.run_clean_tests = run_clean_tests


_run_clean_tests = isolation.ForkServerRunner.run_clean_tests


def run_clean_tests(self: Any, tests: Iterable[str]) -> int:
    """mutmut's check that the tests pass unmutated. In a full run (no test named: every test)
    `python -m mutation` has just had mutmut collect its stats afresh, which ran every test and
    stops mutmut if one fails: running them all again costs a minute for nothing."""
    tests = list(tests)
    return _run_clean_tests(self, tests) if tests else 0


def main(argv: list[str]) -> int:
    install()
    try:
        mutmut_main.cli.main(argv, prog_name="mutmut", standalone_mode=False)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
