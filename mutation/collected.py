"""The unit tests collected once, by a process that then forks a child per mutant (both passes).

Collecting is the slow part of a pytest run here (about a second for test_workflow_request.py's
parametrized cases alone), so a child only runs items collected before the fork, through pytest's
own per-test hook, as pytest's run loop does, and stops at the first failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from mutation.targets import ROOT

KILLERS = ROOT / "mutants" / "killers"


def collect(args: list[str]) -> Any:
    """A pytest Session that has collected `args` (in the current directory) and run nothing."""
    from _pytest.config import _prepareconfig
    from _pytest.main import Session

    config = _prepareconfig(["--tb=native", "-q", "--capture=no", "-p", "no:randomly", *args])
    config._do_configure()
    session = Session.from_config(config)
    config.hook.pytest_sessionstart(session=session)
    config.hook.pytest_collection(session=session)
    if session.testsfailed:
        raise RuntimeError("collection errors")
    return session


def own_files_first(module: str, items: Iterable[Any], order: dict[str, int]) -> list[Any]:
    """The mutated module's own test files first (they kill most of its mutants, and a run stops at
    the first failure), each file in collection order so module-scoped fixtures are set up once."""
    name = module.rpartition(".")[2]
    own = (f"test_{name}.py", f"test_rules_{name}.py")
    return sorted(
        items, key=lambda item: (item.nodeid.split("::")[0].rpartition("/")[2] not in own, order[item.nodeid])
    )


def killers_first(module: str, key: str, items: list[Any]) -> list[Any]:
    """`items` with the tests that killed earlier mutants first: those of the same function or
    table (`key`), then those of the same module, the most recent first. Mutants of one rule
    mostly fail the same test, so a killed mutant usually stops at its first test instead of
    after the module's slow moto-backed tests. The tests run in random order in `make test`
    (pytest-randomly), so moving one ahead does not change its verdict."""
    path = KILLERS / module
    if not path.exists():
        return items
    lines = [line.split("\t", 1) for line in reversed(path.read_text().splitlines()) if "\t" in line]
    rank: dict[str, int] = {}
    for same_key in (True, False):
        for line_key, nodeid in lines:
            if (line_key == key) is same_key:
                rank.setdefault(nodeid, len(rank))
    return sorted(items, key=lambda item: rank.get(item.nodeid, len(rank)))  # stable: the rest as given


def run_until_failure(session: Any, items: list[Any], *, module: str = "", key: str = "") -> bool:
    """Run `items` (collected by `session`) in order; False at the first failure (an error in a
    fixture counts as one), which is remembered for killers_first."""
    for index, item in enumerate(items):
        nextitem = items[index + 1] if index + 1 < len(items) else None
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if session.testsfailed:
            if module:
                KILLERS.mkdir(parents=True, exist_ok=True)
                # One short append per kill: lines from parallel children do not interleave.
                descriptor = os.open(KILLERS / module, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                os.write(descriptor, f"{key}\t{item.nodeid}\n".encode())
                os.close(descriptor)
            return False
    return True


def warm_up_moto() -> None:
    """What each child would otherwise do first, once in the process it is forked from: import
    moto's DynamoDB, load botocore's models and parse template.yaml's table (the unit tests'
    moto table, tests/unit/dynamodb.py, on sys.path once the unit tests are collected)."""
    import dynamodb

    with dynamodb.workflows_table():
        pass
