"""One message of a workflow, found by its message_uuid (dispatch.domain.messages)."""

from __future__ import annotations

import json

from fakes import ACCOUNT_ID, DISPATCH_UUID, PII, InMemoryWorkflowRepository, stored_canonical_workflow

from dispatch.domain.messages import find_message, message_view

MESSAGE_UUID = "aaaaaaaa-0000-4000-8000-000000000000"


def sent_workflow() -> InMemoryWorkflowRepository:
    """The canonical workflow whose first message was sent, rejected, and failed over."""
    workflows = InMemoryWorkflowRepository()
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
    workflows.fail_over(DISPATCH_UUID, 0, "rejected", "2025-01-02T03:14:06+00:00")
    return workflows


def test_a_message_shows_its_step_channel_status_usage_outcome_and_workflow() -> None:
    workflows = sent_workflow()

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


def test_another_accounts_message_is_as_missing_as_a_made_up_one() -> None:
    workflows = sent_workflow()

    assert find_message(workflows, MESSAGE_UUID, account_id="someone-else") is None
    assert find_message(workflows, "bbbbbbbb-0000-4000-8000-000000000000", account_id=ACCOUNT_ID) is None
    assert find_message(workflows, "not-a-uuid" * 1000, account_id=ACCOUNT_ID) is None


def test_an_index_item_pointing_at_a_step_of_another_message_finds_nothing() -> None:
    workflows = sent_workflow()
    workflows.message_index["bbbbbbbb-0000-4000-8000-000000000000"] = {
        "dispatch_uuid": DISPATCH_UUID,
        "step_index": 0,
        "expires_at": 0,
    }
    assert find_message(workflows, "bbbbbbbb-0000-4000-8000-000000000000", account_id=ACCOUNT_ID) is None
