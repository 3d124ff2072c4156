"""Creating workflows and showing them (dispatch.domain.workflows)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fakes import (
    ACCOUNT_ID,
    CREATED_AT,
    DISPATCH_UUID,
    MESSENGER_TEXT,
    PAGE_ID,
    PII,
    PSID,
    RETENTION,
    SMS_FROM,
    SMS_TEXT,
    SMS_TO,
    STATUS_WEBHOOK_URL,
    canonical_item,
    canonical_request,
)

from dispatch.domain.workflows import create_workflow, execution_input, new_workflow_item, workflow_view

CREATED_AT_ISO = "2025-01-02T03:04:05.000Z"


def pii_in(value: Any) -> list[str]:
    text = json.dumps(value)
    return [item for item in PII if item in text]


# -- new_workflow_item -------------------------------------------------------------------------


def test_a_new_item_is_an_in_progress_workflow_on_its_first_step() -> None:
    item = canonical_item()
    assert item["pk"] == f"WORKFLOW#{DISPATCH_UUID}"
    assert (item["dispatch_uuid"], item["account_id"], item["template"]) == (
        DISPATCH_UUID,
        ACCOUNT_ID,
        "failover",
    )
    assert (item["status"], item["current_step"]) == ("in_progress", 0)
    assert item["created_at"] == item["updated_at"] == CREATED_AT_ISO
    assert item["status_webhook_url"] == STATUS_WEBHOOK_URL


@pytest.mark.parametrize("retention", [timedelta(days=30), timedelta(hours=1)])
def test_a_new_item_expires_after_the_retention(retention: timedelta) -> None:
    item = new_workflow_item(
        canonical_request(),
        dispatch_uuid=DISPATCH_UUID,
        account_id=ACCOUNT_ID,
        status_webhook_url=None,
        created_at=CREATED_AT,
        retention=retention,
    )
    assert item["expires_at"] == int((CREATED_AT + retention).timestamp())
    assert isinstance(item["expires_at"], int)


def test_a_new_item_without_a_webhook_url_has_no_such_attribute() -> None:
    assert "status_webhook_url" not in canonical_item(status_webhook_url=None)


def test_steps_hold_each_steps_channel_content_type_and_failover_settings_only() -> None:
    assert canonical_item()["steps"] == [
        {"channel": "messenger", "content_type": "text", "condition_status": "read", "expiry_time": 600},
        {"channel": "sms", "content_type": "text"},
    ]


def test_personal_data_lives_only_in_messages() -> None:
    # Given the canonical workflow
    item = canonical_item()
    # When its item is built
    everything_but_messages = {key: value for key, value in item.items() if key != "messages"}
    # Then no text, number or PSID appears outside `messages`
    assert pii_in(everything_but_messages) == []
    # And `messages` holds them all
    assert sorted(pii_in(item["messages"])) == sorted(PII)


def test_messages_hold_each_steps_from_to_and_message_without_its_failover() -> None:
    messages = [json.loads(message) for message in canonical_item()["messages"]]
    assert messages == [
        {
            "from": {"type": "messenger", "id": PAGE_ID},
            "to": {"type": "messenger", "id": PSID},
            "message": {"content": {"type": "text", "text": MESSENGER_TEXT}},
        },
        {
            "from": {"type": "sms", "number": SMS_FROM},
            "to": {"type": "sms", "number": SMS_TO},
            "message": {"content": {"type": "text", "text": SMS_TEXT}},
        },
    ]


# -- execution_input ---------------------------------------------------------------------------


@pytest.mark.parametrize(("steps_total", "last_step_index"), [(1, 0), (2, 1), (10, 9)])
def test_the_execution_input_holds_ids_and_counts_only(steps_total: int, last_step_index: int) -> None:
    assert execution_input(DISPATCH_UUID, steps_total) == {
        "dispatch_uuid": DISPATCH_UUID,
        "step_index": 0,
        "last_step_index": last_step_index,
    }


# -- create_workflow ---------------------------------------------------------------------------


def create(events: list, *, save=None, request=None) -> str:
    return create_workflow(
        request or canonical_request(),
        account_id=ACCOUNT_ID,
        status_webhook_url=STATUS_WEBHOOK_URL,
        save=save or (lambda item: events.append(("save", item))),
        start_execution=lambda name, execution: events.append(("start", name, execution)),
        now=CREATED_AT,
        retention=RETENTION,
    )


def test_create_stores_the_workflow_then_starts_an_execution_named_by_its_dispatch_uuid() -> None:
    # Given a valid request
    events: list = []
    # When the workflow is created
    dispatch_uuid = create(events)
    # Then the item is saved first, then the execution starts, named by the new dispatch_uuid
    assert [event[0] for event in events] == ["save", "start"]
    (_, item), (_, name, execution) = events
    assert uuid.UUID(dispatch_uuid)
    assert item["dispatch_uuid"] == name == dispatch_uuid
    assert execution == {"dispatch_uuid": dispatch_uuid, "step_index": 0, "last_step_index": 1}
    assert item == canonical_item(dispatch_uuid=dispatch_uuid)
    # And the execution input carries no personal data
    assert pii_in(execution) == []


def test_each_workflow_gets_its_own_dispatch_uuid() -> None:
    assert create([]) != create([])


def test_an_execution_is_not_started_when_the_workflow_could_not_be_stored() -> None:
    events: list = []

    def failing_save(item: dict) -> None:
        raise RuntimeError("DynamoDB is down")

    with pytest.raises(RuntimeError):
        create(events, save=failing_save)
    assert events == []


# -- workflow_view -----------------------------------------------------------------------------


def test_the_view_of_a_new_workflow() -> None:
    assert workflow_view(canonical_item()) == {
        "dispatch_uuid": DISPATCH_UUID,
        "template": "failover",
        "status": "in_progress",
        "created_at": CREATED_AT_ISO,
        "updated_at": CREATED_AT_ISO,
        "current_step": 0,
        "workflow": [
            {
                "index": 0,
                "channel": "messenger",
                "content_type": "text",
                "condition_status": "read",
                "expiry_time": 600,
            },
            {"index": 1, "channel": "sms", "content_type": "text"},
        ],
        "_links": {"self": {"href": f"/v0.1/workflows/{DISPATCH_UUID}"}},
    }


def test_the_view_of_a_finished_workflow_shows_each_steps_state_but_not_internals() -> None:
    # Given a workflow that failed over from step 0 and completed on step 1
    item = canonical_item()
    item.update(status="completed", current_step=1, updated_at="2025-01-02T03:20:00.000Z")
    item["finished_at"] = "2025-01-02T03:20:00.000Z"
    item["steps"][0].update(
        send_state="accepted",
        send_started_at="2025-01-02T03:04:06.000Z",
        message_uuid="m-0",
        sent_at="2025-01-02T03:04:07.000Z",
        status="delivered",
        status_rank=2,
        status_at="2025-01-02T03:04:09.000Z",
        outcome="expired",
        outcome_at="2025-01-02T03:14:07.000Z",
    )
    item["steps"][1].update(
        send_state="accepted",
        message_uuid="m-1",
        status="delivered",
        status_rank=2,
        status_error={"title": "x"},
        usage={"currency": "EUR", "price": "0.0333"},
        outcome="condition_met",
    )
    # When it is viewed
    view = workflow_view(item)
    # Then it shows times and each step's public state
    assert (view["status"], view["current_step"], view["finished_at"]) == (
        "completed",
        1,
        item["finished_at"],
    )
    assert view["updated_at"] == "2025-01-02T03:20:00.000Z"
    assert view["workflow"][0] == {
        "index": 0,
        "channel": "messenger",
        "content_type": "text",
        "condition_status": "read",
        "expiry_time": 600,
        "message_uuid": "m-0",
        "sent_at": "2025-01-02T03:04:07.000Z",
        "status": "delivered",
        "status_at": "2025-01-02T03:04:09.000Z",
        "outcome": "expired",
        "outcome_at": "2025-01-02T03:14:07.000Z",
    }
    assert view["workflow"][1]["usage"] == {"currency": "EUR", "price": "0.0333"}
    # And nothing internal or personal
    internals = {"send_state", "send_started_at", "status_rank"}
    assert not [key for step in view["workflow"] for key in step if key in internals]
    assert not {"messages", "account_id", "pk", "expires_at", "status_webhook_url"} & set(view)
    assert pii_in(view) == []


def test_the_view_of_a_workflow_ended_by_a_fault_says_why_and_never_shows_the_task_token() -> None:
    item = canonical_item()
    item.update(status="error", finished_at="2025-01-02T03:20:00.000Z", error_reason="execution failed (X)")
    item.update(task_token="AQB-token", task_token_step=0)

    view = workflow_view(item)

    assert (view["status"], view["error_reason"]) == ("error", "execution failed (X)")
    assert "AQB-token" not in json.dumps(view)


def test_the_view_of_a_workflow_in_progress_has_no_error_reason() -> None:
    assert "error_reason" not in workflow_view(canonical_item())


def test_the_view_of_an_item_without_updated_at_uses_created_at() -> None:
    item = canonical_item()
    del item["updated_at"]
    assert workflow_view(item)["updated_at"] == CREATED_AT_ISO
