"""Idempotency-Key on create (dispatch.api.idempotency) against DynamoDB (moto, the table of
template.yaml): one start per account and key, the body must match, a twin waits its turn."""

from __future__ import annotations

import json

import pytest

from dispatch.api.idempotency import IdempotentCreates
from dispatch.domain.errors import IdempotencyKeyInProgress, IdempotencyKeyReused


class Invocation:
    """The part of a Lambda context the idempotency records use: the time left to run."""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


BODY = json.dumps({"template": "failover", "workflow": []}).encode()


@pytest.fixture(scope="module")
def module_creates(module_table) -> IdempotentCreates:
    creates = IdempotentCreates(
        table_name=module_table.name,
        expires_after_hours=1,
        attempts=3,
        sleep=lambda _: None,
        client=module_table.client,
    )
    creates.register_lambda_context(Invocation())  # type: ignore[arg-type]
    return creates


@pytest.fixture
def creates(module_creates: IdempotentCreates, table) -> IdempotentCreates:
    """Idempotent creates on an empty table."""
    return module_creates


def starter(started: list[str]):
    def start() -> str:
        started.append(f"workflow-{len(started)}")
        return started[-1]

    return start


def test_without_a_key_every_request_starts(creates: IdempotentCreates) -> None:
    started: list[str] = []
    for _ in range(2):
        creates.create(account_id="a", key=None, body=BODY, start=starter(started))
    assert started == ["workflow-0", "workflow-1"]


def test_the_same_key_replays_the_first_answer_without_starting(creates: IdempotentCreates) -> None:
    started: list[str] = []
    first = creates.create(account_id="a", key="k", body=BODY, start=starter(started))
    again = creates.create(account_id="a", key="k", body=BODY, start=starter(started))
    assert (first, again) == (("workflow-0", False), ("workflow-0", True))
    assert started == ["workflow-0"]


def test_keys_are_per_account(creates: IdempotentCreates) -> None:
    started: list[str] = []
    creates.create(account_id="a", key="k", body=BODY, start=starter(started))
    assert creates.create(account_id="b", key="k", body=BODY, start=starter(started)) == ("workflow-1", False)


def test_the_same_key_with_another_body_is_refused(creates: IdempotentCreates) -> None:
    creates.create(account_id="a", key="k", body=BODY, start=starter([]))
    with pytest.raises(IdempotencyKeyReused):
        creates.create(account_id="a", key="k", body=b'{"template": "other"}', start=starter([]))


def test_a_twin_of_a_request_still_in_progress_gives_up_after_its_attempts(
    creates: IdempotentCreates,
) -> None:
    # Given: a twin arrives while the first request is still starting its workflow
    outcomes: list[object] = []

    def start_with_a_twin() -> str:
        try:
            creates.create(account_id="a", key="k", body=BODY, start=starter([]))
        except IdempotencyKeyInProgress as error:
            outcomes.append(error)
        return "workflow-0"

    # When
    first = creates.create(account_id="a", key="k", body=BODY, start=start_with_a_twin)

    # Then: the twin was told to retry, and the first request completed
    assert [type(outcome) for outcome in outcomes] == [IdempotencyKeyInProgress]
    assert first == ("workflow-0", False)
