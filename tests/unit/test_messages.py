"""One message of a workflow, found by its message_uuid (dispatch.domain.messages) and shown
(dispatch.api.views.message_view), with the real WorkflowRepository on moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dynamodb import fail_over
from fakes import ACCOUNT_ID, DISPATCH_UUID, PII, stored_canonical_workflow

from dispatch.api.views import message_view
from dispatch.domain.errors import MessageNotFound
from dispatch.domain.messages import find_message
from dispatch.storage.workflow_repository import WorkflowRepository

MESSAGE_UUID = "aaaaaaaa-0000-4000-8000-000000000000"


@pytest.fixture
def sent_workflow(workflows: WorkflowRepository, table: Any) -> WorkflowRepository:
    """The canonical workflow whose first message was sent, rejected, and failed over."""
    stored_canonical_workflow(workflows)
    workflows.claim_send(DISPATCH_UUID, 0, "2025-01-02T03:04:06.000Z")
    workflows.record_send_accepted(DISPATCH_UUID, 0, MESSAGE_UUID, "2025-01-02T03:04:06.000Z", 0)
    workflows.record_status(
        DISPATCH_UUID,
        0,
        status="rejected",
        rank=4,
        status_at="2025-01-02T03:04:08.000Z",
        message_uuid=MESSAGE_UUID,
        extra={
            "status_error": {"code": 1300, "reason": "Not part of the provider network", "type": "t#1300"},
            "usage": {"currency": "EUR", "price": "0.0333"},
        },
    )
    assert fail_over(table, DISPATCH_UUID, 0, "rejected", "2025-01-02T03:14:06+00:00")
    return workflows


def test_a_message_shows_its_step_channel_status_usage_outcome_and_workflow(sent_workflow) -> None:
    workflows = sent_workflow

    workflow, step_index = find_message(workflows, MESSAGE_UUID, account_id=ACCOUNT_ID)
    view = message_view(workflow, step_index)

    assert view == {
        "message_uuid": MESSAGE_UUID,
        "dispatch_uuid": DISPATCH_UUID,
        "step": 0,
        "channel": "messenger",
        "content_type": "text",
        "sent_at": "2025-01-02T03:04:06.000Z",
        "status": "rejected",
        "status_at": "2025-01-02T03:04:08.000Z",
        "error": {"code": 1300, "reason": "Not part of the provider network"},
        "usage": {"currency": "EUR", "price": "0.0333"},
        "outcome": "rejected",
        "outcome_at": "2025-01-02T03:14:06.000Z",
        "_links": {
            "self": {"href": f"/v0.1/messages/{MESSAGE_UUID}"},
            "workflow": {"href": f"/v0.1/workflows/{DISPATCH_UUID}"},
        },
    }
    assert not [value for value in PII if value in json.dumps(view)]


@pytest.mark.parametrize(
    ("message_uuid", "account_id"),
    [
        (MESSAGE_UUID, "someone-else"),
        ("bbbbbbbb-0000-4000-8000-000000000000", ACCOUNT_ID),
        ("not-a-uuid" * 1000, ACCOUNT_ID),
    ],
)
def test_another_accounts_message_is_as_missing_as_a_made_up_one(
    sent_workflow, message_uuid, account_id
) -> None:
    with pytest.raises(MessageNotFound):
        find_message(sent_workflow, message_uuid, account_id=account_id)


def test_an_index_item_pointing_at_a_step_of_another_message_finds_nothing(sent_workflow, table) -> None:
    # Given an index item of message B pointing at step 0, which was sent as message A
    other = "bbbbbbbb-0000-4000-8000-000000000000"
    index_item = next(i for i in table.scan()["Items"] if i["pk"] == f"MESSAGE#{MESSAGE_UUID}")
    table.put_item(Item={**index_item, "pk": f"MESSAGE#{other}"})
    assert sent_workflow.find_step_by_message_uuid(other) == (DISPATCH_UUID, 0)
    # Then B is not found
    with pytest.raises(MessageNotFound):
        find_message(sent_workflow, other, account_id=ACCOUNT_ID)


# -- found by mutation testing (`make mutation`, 2026-11-29) -------------------------------------


class OneStepStore:
    """A store whose index points `message_uuid` at step `index` of a one-step workflow, and
    which records the lookups it was asked for."""

    def __init__(self, index: int) -> None:
        self.index, self.lookups = index, []

    def find_step_by_message_uuid(self, message_uuid: str) -> tuple[str, int] | None:
        self.lookups.append(message_uuid)
        return DISPATCH_UUID, self.index

    def get(self, dispatch_uuid: str) -> dict[str, Any]:
        return {"account_id": ACCOUNT_ID, "steps": [{"message_uuid": STALE}]}


STALE = "2d7c1a9e-5b4f-4e3a-9c8d-7f6e5d4c3b2a"


@pytest.mark.parametrize("made_up", ["not-a-uuid", STALE.replace("-", "")])
def test_a_message_id_that_is_not_a_uuid_is_not_found_without_reading_the_table(made_up) -> None:
    store = OneStepStore(0)
    with pytest.raises(MessageNotFound) as raised:
        find_message(store, made_up, account_id=ACCOUNT_ID)  # type: ignore[arg-type]
    assert store.lookups == []
    assert raised.value.message_uuid == made_up


def test_an_index_pointing_past_the_last_step_finds_nothing() -> None:
    # Given an index item left pointing at step 1 of a workflow that has one step
    with pytest.raises(MessageNotFound) as raised:
        find_message(OneStepStore(1), STALE, account_id=ACCOUNT_ID)  # type: ignore[arg-type]
    # Then the message is as missing as a made-up one, and the error names the id asked for
    assert raised.value.message_uuid == STALE


def test_each_refusal_names_the_message_id_asked_for(sent_workflow) -> None:
    missing = "3e8d2b0f-6c5a-4f4b-8d9e-8a7f6e5d4c3b"
    cases = [
        (sent_workflow, missing, ACCOUNT_ID),  # no index item
        (sent_workflow, MESSAGE_UUID, "another-account"),  # another account's
        (OneStepStore(0), missing, ACCOUNT_ID),  # the step now holds another message
    ]
    for store, message_uuid, account_id in cases:
        with pytest.raises(MessageNotFound) as raised:
            find_message(store, message_uuid, account_id=account_id)
        assert raised.value.message_uuid == message_uuid
