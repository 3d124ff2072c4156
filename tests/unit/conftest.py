"""Fixtures shared by the unit tests: the real repositories on a moto DynamoDB table, and every
create body a test parses with the models also parsed as the create function parses it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from dynamodb import empty, workflows_table

from dispatch.domain.create_body import CreateBody, parse_create_body
from dispatch.domain.errors import BodyTooLarge, InvalidWorkflowRequest, MalformedBody
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


@pytest.fixture(autouse=True)
def _create_bodies_parsed_both_ways(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test module's `parse_workflow_request` (the pydantic models, the documented contract)
    also runs dispatch.domain.create_body.parse_create_body (what the create function runs) on
    the same body, and fails the test unless both give the same answer: the same refusal with
    the same invalid parameters in the same order, or the same request, field for field."""
    reference = getattr(request.module, "parse_workflow_request", None)
    if reference is None:
        return

    def both(body: Any, **options: Any) -> Any:
        try:
            expected = reference(body, **options)
        except (InvalidWorkflowRequest, MalformedBody, BodyTooLarge) as refusal:
            assert_refused_alike(refusal, body, **options)
            raise
        assert_read_alike(expected, parse_create_body(body, **options))
        return expected

    monkeypatch.setattr(request.module, "parse_workflow_request", both)


def assert_refused_alike(refusal: Exception, body: Any, **options: Any) -> None:
    with pytest.raises(type(refusal)) as raised:
        parse_create_body(body, **options)
    assert str(raised.value) == str(refusal)
    assert getattr(raised.value, "errors", None) == getattr(refusal, "errors", None)
    assert getattr(raised.value, "detail", None) == getattr(refusal, "detail", None)


def assert_read_alike(model: Any, parsed: CreateBody) -> None:
    as_json = {"callback": parsed.callback} if parsed.callback is not None else {}
    as_json |= {"template": parsed.template, "workflow": parsed.workflow}
    # Compared as JSON text: the same keys in the same order (what is stored), nothing null.
    assert json.dumps(as_json) == json.dumps(model.model_dump(mode="json", by_alias=True, exclude_none=True))
