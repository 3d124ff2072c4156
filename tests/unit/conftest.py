"""Fixtures shared by the unit tests: the real repositories on a moto DynamoDB table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dynamodb import empty, workflows_table

from dispatch.storage.account_repository import AccountRepository
from dispatch.storage.workflow_repository import WorkflowRepository


@pytest.fixture(scope="module")
def module_table() -> Iterator[Any]:
    """One moto table per test module (creating one costs more than most tests); `table`
    empties it after each test, a module-scoped fixture may fill it once for its module."""
    with workflows_table() as table:
        yield table


@pytest.fixture
def table(module_table: Any) -> Iterator[Any]:
    """The workflows table of template.yaml on moto, empty at the start of the test."""
    yield module_table
    empty(module_table)


@pytest.fixture
def workflows(table: Any) -> WorkflowRepository:
    return WorkflowRepository(table)


@pytest.fixture
def accounts(table: Any) -> AccountRepository:
    return AccountRepository(table)
