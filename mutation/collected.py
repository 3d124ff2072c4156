"""The unit tests collected once, by a process that then forks a child per mutant (both passes).

Collecting is the slow part of a pytest run here (about a second for test_workflow_request.py's
parametrized cases alone), so a child only runs items collected before the fork, through pytest's
own per-test hook, as pytest's run loop does, and stops at the first failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


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


def run_until_failure(session: Any, items: list[Any]) -> bool:
    """Run `items` (collected by `session`) in order; False at the first failure (an error in a
    fixture counts as one)."""
    for index, item in enumerate(items):
        nextitem = items[index + 1] if index + 1 < len(items) else None
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if session.testsfailed:
            return False
    return True


def warm_up_moto() -> None:
    """What each child would otherwise do first, once in the process it is forked from: import
    moto's DynamoDB, load botocore's models and parse template.yaml's table (the unit tests'
    moto table, tests/unit/dynamodb.py, on sys.path once the unit tests are collected)."""
    import dynamodb

    with dynamodb.workflows_table():
        pass
