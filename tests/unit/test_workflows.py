"""Creating, cancelling and showing workflows (dispatch.domain.workflows, dispatch.api.views), with
the real repositories on moto."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from dynamodb import fail_over, items
from fakes import (
    ACCOUNT_ID,
    CREATED_AT,
    DISPATCH_UUID,
    EXPIRY_TIME,
    MESSENGER_TEXT,
    PAGE_ID,
    PII,
    PSID,
    RETENTION,
    SMS_FROM,
    SMS_TEXT,
    SMS_TO,
    STATUS_WEBHOOK_URL,
    RecordingExecutions,
    canonical_item,
    canonical_request,
)

from dispatch.api.views import workflow_view
from dispatch.domain.accounts import create_account
from dispatch.domain.errors import WorkflowBusy, WorkflowFinished, WorkflowNotStarted
from dispatch.domain.workflows import (
    MAX_PAGE_SIZE,
    cancel_workflow,
    create_workflow,
    execution_input,
    list_workflows,
    new_workflow_item,
)
from dispatch.storage.account_repository import AccountRepository
from dispatch.storage.workflow_repository import WorkflowRepository

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
        {
            "channel": "messenger",
            "content_type": "text",
            "condition_status": "read",
            "expiry_time": EXPIRY_TIME,
        },
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


def create(
    workflows: WorkflowRepository,
    accounts: AccountRepository,
    executions: RecordingExecutions | None = None,
    request=None,
) -> str:
    return create_workflow(
        request or canonical_request(),
        account_id=ACCOUNT_ID,
        status_webhook_url=STATUS_WEBHOOK_URL,
        workflows=workflows,
        executions=executions or RecordingExecutions(),
        accounts=accounts,
        retention=RETENTION,
        now=lambda: CREATED_AT,
    )


def test_create_stores_the_workflow_then_starts_an_execution_named_by_its_dispatch_uuid(
    workflows, accounts
) -> None:
    # Given a valid request
    executions = RecordingExecutions()
    # When the workflow is created
    dispatch_uuid = create(workflows, accounts, executions)
    # Then the item is stored, and its execution started, named by the new dispatch_uuid
    assert uuid.UUID(dispatch_uuid)
    assert workflows.get(dispatch_uuid) == canonical_item(dispatch_uuid=dispatch_uuid)
    [(name, execution)] = executions.started
    assert name == dispatch_uuid
    assert execution == {"dispatch_uuid": dispatch_uuid, "step_index": 0, "last_step_index": 1}
    # And the execution input carries no personal data
    assert pii_in(execution) == []


def test_each_workflow_gets_its_own_dispatch_uuid(workflows, accounts) -> None:
    assert create(workflows, accounts) != create(workflows, accounts)


def test_an_execution_is_not_started_when_the_workflow_could_not_be_stored(accounts) -> None:
    # Given a store that cannot be written (e.g. DynamoDB is down)
    class Unwritable(WorkflowRepository):
        def create(self, item: dict) -> None:
            raise RuntimeError("DynamoDB is down")

    executions = RecordingExecutions()
    # When / Then
    with pytest.raises(RuntimeError):
        create(Unwritable(table=None), accounts, executions)
    assert executions.started == []


def test_a_workflow_whose_execution_cannot_start_is_marked_failed_and_the_error_goes_on(
    workflows, accounts, table
) -> None:
    # Given Step Functions cannot start the execution
    # When the workflow is created
    with pytest.raises(WorkflowNotStarted) as raised:
        create(workflows, accounts, RecordingExecutions(refuse=True))
    # Then the stored workflow ended in error: never in progress with nothing running it
    [item] = items(table)
    assert item["dispatch_uuid"] == raised.value.args[0]
    assert (item["status"], item["finished_at"]) == ("error", item["updated_at"])


def test_callbacks_go_to_the_request_callback_else_to_the_accounts_default(workflows, accounts) -> None:
    # Given an account with a default callback URL
    create_account(accounts, account_id=ACCOUNT_ID, callback_url="https://shop.example/callbacks")
    # When one request names its own callback and another does not
    own = canonical_request()._replace(callback="https://own.example/cb")
    with_own, without = create(workflows, accounts, request=own), create(workflows, accounts)
    # Then each workflow keeps the URL its callbacks will go to
    assert workflows.get(with_own)["callback_url"] == "https://own.example/cb"
    assert workflows.get(without)["callback_url"] == "https://shop.example/callbacks"


def test_without_any_callback_url_the_workflow_has_none(workflows, accounts) -> None:
    assert "callback_url" not in workflows.get(create(workflows, accounts))


# -- cancel_workflow ---------------------------------------------------------------------------


def test_cancelling_a_workflow_in_progress_ends_it_and_stops_its_execution(workflows) -> None:
    workflows.create(canonical_item())
    executions = RecordingExecutions()

    cancelled = cancel_workflow(workflows.get(DISPATCH_UUID), workflows=workflows, executions=executions)

    assert cancelled["status"] == "cancelled"
    assert cancelled["steps"][0]["outcome"] == "cancelled"
    assert workflows.get(DISPATCH_UUID) == cancelled
    assert executions.stopped == [DISPATCH_UUID]


def test_cancelling_again_changes_nothing_but_stops_the_execution_again(workflows) -> None:
    # Given a cancelled workflow (whose execution may not have stopped the first time)
    workflows.create(canonical_item())
    first = cancel_workflow(
        workflows.get(DISPATCH_UUID), workflows=workflows, executions=RecordingExecutions()
    )
    executions = RecordingExecutions()
    # When it is cancelled again
    again = cancel_workflow(workflows.get(DISPATCH_UUID), workflows=workflows, executions=executions)
    # Then it is as it was, and its execution is stopped once more
    assert again == first
    assert executions.stopped == [DISPATCH_UUID]


@pytest.mark.parametrize("status", ["completed", "error"])
def test_a_finished_workflow_cannot_be_cancelled(workflows, status: str) -> None:
    item = {**canonical_item(), "status": status}
    workflows.create(item)
    executions = RecordingExecutions()

    with pytest.raises(WorkflowFinished) as raised:
        cancel_workflow(workflows.get(DISPATCH_UUID), workflows=workflows, executions=executions)

    assert raised.value.status == status
    assert workflows.get(DISPATCH_UUID)["status"] == status
    assert executions.stopped == []


def test_a_failover_at_the_same_moment_is_cancelled_on_the_next_step(workflows, table) -> None:
    # Given the state machine fails over between our read and our conditional write
    workflows.create(canonical_item())
    stale = workflows.get(DISPATCH_UUID)
    assert fail_over(table, DISPATCH_UUID, 0, "expired", "2025-01-02T03:15:00.000Z")
    # When the workflow is cancelled from the stale read
    cancelled = cancel_workflow(stale, workflows=workflows, executions=RecordingExecutions())
    # Then the cancel lands on the step it is now on
    assert (cancelled["status"], cancelled["current_step"]) == ("cancelled", 1)
    assert [step.get("outcome") for step in cancelled["steps"]] == ["expired", "cancelled"]


def test_a_workflow_that_keeps_moving_is_reported_busy(workflows, table) -> None:
    # Given a workflow whose every cancel attempt loses to a failover (a ten-step workflow)
    item = canonical_item()
    item["steps"] = [dict(item["steps"][0]) for _ in range(10)]
    workflows.create(item)

    class FailingOverFirst(WorkflowRepository):
        def cancel(self, dispatch_uuid: str, step_index: int, now: str) -> bool:
            fail_over(table, dispatch_uuid, step_index, "expired", now)
            return super().cancel(dispatch_uuid, step_index, now)

    # When / Then
    with pytest.raises(WorkflowBusy):
        cancel_workflow(
            workflows.get(DISPATCH_UUID), workflows=FailingOverFirst(table), executions=RecordingExecutions()
        )
    assert workflows.get(DISPATCH_UUID)["status"] == "in_progress"


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
                "expiry_time": EXPIRY_TIME,
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
        "expiry_time": EXPIRY_TIME,
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


# -- list_workflows ------------------------------------------------------------------------------


def index_items(count: int, status: str = "completed") -> list[dict[str, Any]]:
    """What the account's index holds, newest first."""
    items = []
    for n in range(count):
        dispatch_uuid = str(uuid.UUID(int=count - n))
        created_at = f"2025-01-02T03:{59 - n % 60:02d}:00.000Z"
        items.append(
            {
                "pk": f"WORKFLOW#{dispatch_uuid}",
                "gsi1pk": f"ACCOUNT#{ACCOUNT_ID}#WORKFLOWS",
                "gsi1sk": f"{created_at}#{dispatch_uuid}",
                "dispatch_uuid": dispatch_uuid,
                "template": "failover",
                "status": status,
                "current_step": 0,
                "created_at": created_at,
                "updated_at": created_at,
            }
        )
    return items


class Index:
    """The index as DynamoDB queries it: `limit` items evaluated, then a filter, and a last
    evaluated key whenever the limit was reached."""

    def __init__(self, items: list[dict[str, Any]], status: str | None = None) -> None:
        self.items, self.status, self.limits = items, status, []

    def __call__(self, limit: int, start: dict | None) -> tuple[list[dict[str, Any]], dict | None]:
        self.limits.append(limit)
        offset = 0 if start is None else [i["gsi1sk"] for i in self.items].index(start["gsi1sk"]) + 1
        evaluated = self.items[offset : offset + limit]
        matches = [i for i in evaluated if self.status is None or i["status"] == self.status]
        more = offset + limit <= len(self.items) and len(evaluated) == limit
        last = {key: evaluated[-1][key] for key in ("pk", "gsi1pk", "gsi1sk")} if more else None
        return matches, last


def test_a_filter_without_matches_in_a_small_account_ends_without_a_cursor() -> None:
    # Given 30 workflows, none cancelled
    index = Index(index_items(30), status="cancelled")
    # When the cancelled ones are listed, 20 a page
    summaries, cursor = list_workflows(index, page_size=20, cursor=None, filtered=True)
    # Then the page is empty and there is no next page to point at
    assert (summaries, cursor) == ([], None)
    assert index.limits == [MAX_PAGE_SIZE]  # one read-ahead query was enough


def test_a_filtered_query_that_reads_ahead_continues_after_the_last_workflow_shown() -> None:
    # Given 250 completed workflows
    items = index_items(250)
    index = Index(items, status="completed")
    # When they are listed 20 a page, page after page
    shown: list[str] = []
    cursor = None
    for _ in range(20):
        summaries, cursor = list_workflows(index, page_size=20, cursor=cursor, filtered=True)
        shown += [s["dispatch_uuid"] for s in summaries]
        if cursor is None:
            break
    # Then each shows once, in order, and the listing ends
    assert shown == [i["dispatch_uuid"] for i in items]
    assert cursor is None


def test_an_unfiltered_listing_reads_only_a_page() -> None:
    index = Index(index_items(50))
    summaries, cursor = list_workflows(index, page_size=20, cursor=None)
    assert len(summaries) == 20 and index.limits == [20]
    assert cursor["gsi1sk"] == index.items[19]["gsi1sk"]
