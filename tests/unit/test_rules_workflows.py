"""Rules of creating, listing and cancelling workflows that no unit test checked
(dispatch.domain.workflows, and dispatch.api.views for how they are shown): the listing index
keys, where callbacks go, how timestamps are shown, how a cancel races a failover, and how a
listing fills its page. With the real repositories on moto.

Each was found by mutation testing (`make mutation`): changing the rule broke no other test.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from dynamodb import fail_over
from fakes import (
    ACCOUNT_ID,
    CREATED_AT,
    DISPATCH_UUID,
    RETENTION,
    RecordingExecutions,
    canonical_item,
    canonical_request,
)

from dispatch.api.views import workflow_summary, workflow_view
from dispatch.clock import iso
from dispatch.domain.accounts import create_account
from dispatch.domain.errors import WorkflowBusy, WorkflowFinished, WorkflowNotStarted
from dispatch.domain.workflows import (
    MAX_PAGE_SIZE,
    cancel_workflow,
    create_workflow,
    list_workflows,
    new_workflow_item,
)
from dispatch.storage.workflow_repository import WorkflowRepository

CALLBACK = "https://example.com/callbacks"


# -- creating ----------------------------------------------------------------------------------------


def test_a_new_workflow_is_listed_under_its_account_by_creation_time() -> None:
    item = canonical_item()
    assert item["gsi1pk"] == f"ACCOUNT#{ACCOUNT_ID}#WORKFLOWS"
    assert item["gsi1sk"] == f"2025-01-02T03:04:05.000Z#{DISPATCH_UUID}"


@pytest.mark.parametrize(
    ("request_callback", "account_callback", "stored"),
    [
        ("https://request.example.com/cb", CALLBACK, "https://request.example.com/cb"),
        (None, CALLBACK, CALLBACK),
        ("https://request.example.com/cb", None, "https://request.example.com/cb"),
    ],
)
def test_callbacks_go_to_the_requests_callback_else_to_the_accounts_default(
    workflows, accounts, request_callback, account_callback, stored
) -> None:
    # Given an account with or without a default callback URL, and a request with or without its own
    create_account(accounts, account_id=ACCOUNT_ID, callback_url=account_callback)
    request = canonical_request()._replace(callback=request_callback)
    # When the workflow is created
    dispatch_uuid = create_workflow(
        request,
        account_id=ACCOUNT_ID,
        status_webhook_url=None,
        workflows=workflows,
        executions=RecordingExecutions(),
        accounts=accounts,
        retention=RETENTION,
        now=lambda: CREATED_AT,
    )
    # Then it keeps the URL its callbacks go to
    assert workflows.get(dispatch_uuid)["callback_url"] == stored


def test_a_new_item_keeps_the_callback_url_it_is_given() -> None:
    item = new_workflow_item(
        canonical_request(),
        dispatch_uuid=DISPATCH_UUID,
        account_id=ACCOUNT_ID,
        status_webhook_url=None,
        created_at=CREATED_AT,
        retention=RETENTION,
        callback_url=CALLBACK,
    )
    assert item["callback_url"] == CALLBACK


# -- showing -----------------------------------------------------------------------------------------


def test_times_written_by_the_state_machine_are_shown_in_the_apis_format() -> None:
    # Given times as the state machine writes them ($$.State.EnteredTime: microseconds, no Z)
    item = canonical_item()
    item.update(status="completed", updated_at="2025-01-02T03:20:00.123456+00:00")
    item["finished_at"] = "2025-01-02T03:20:00.123456+00:00"
    # When the workflow is shown
    view = workflow_view(item)
    # Then they read like every other time of the API
    assert view["updated_at"] == view["finished_at"] == "2025-01-02T03:20:00.123Z"


@pytest.mark.parametrize(
    "outcome", ["condition_met", "expired", "send_failed", "rejected", "undeliverable", "cancelled"]
)
def test_every_outcome_the_state_machine_or_a_cancel_writes_can_be_shown(outcome) -> None:
    # Given a step decided by whichever writer (the state machine writes expired and send_failed)
    item = canonical_item()
    item["steps"][0].update(outcome=outcome, outcome_at="2025-01-02T03:14:07.000Z")
    # Then the workflow shows it as written
    assert workflow_view(item)["workflow"][0]["outcome"] == outcome


# -- cancelling --------------------------------------------------------------------------------------


class RacingFailovers(WorkflowRepository):
    """The real repository, where the state machine fails over just before each of the first
    `failovers` cancels (so each of those conditional writes names a step already left); it
    counts the cancels it was asked for."""

    def __init__(self, table: Any, failovers: int = 0) -> None:
        super().__init__(table)
        self.table, self.failovers = table, failovers
        self.cancels: list[int] = []

    def cancel(self, dispatch_uuid: str, step_index: int, now: str) -> bool:
        self.cancels.append(step_index)
        if self.failovers:
            self.failovers -= 1
            assert fail_over(self.table, dispatch_uuid, step_index, "expired", now)
        return super().cancel(dispatch_uuid, step_index, now)


def stored_workflow(workflows: WorkflowRepository, steps: int = 2, **fields: Any) -> dict[str, Any]:
    """A stored workflow of `steps` steps, as read before a cancel."""
    item = {**canonical_item(), **fields}
    item["steps"] = [dict(item["steps"][0]) for _ in range(steps)]
    workflows.create(item)
    return workflows.get(DISPATCH_UUID)


def cancel(table, failovers: int, steps: int) -> tuple[RacingFailovers, RecordingExecutions, Any]:
    workflows = RacingFailovers(table, failovers)
    item = stored_workflow(workflows, steps)
    executions = RecordingExecutions()
    try:
        return workflows, executions, cancel_workflow(item, workflows=workflows, executions=executions)
    except WorkflowBusy as busy:
        return workflows, executions, busy


def test_a_cancel_that_races_a_failover_is_tried_again_on_the_new_step(table) -> None:
    # Given a failover that lands between reading the workflow and cancelling it
    # When it is cancelled
    workflows, executions, ended = cancel(table, failovers=1, steps=3)
    # Then the cancel is retried on the step the workflow moved to
    assert workflows.cancels == [0, 1]
    assert (ended["status"], ended["current_step"]) == ("cancelled", 1)
    assert executions.stopped == [DISPATCH_UUID]


def test_a_workflow_that_keeps_moving_gives_up_after_five_tries(table) -> None:
    workflows, executions, ended = cancel(table, failovers=5, steps=8)
    assert isinstance(ended, WorkflowBusy)
    assert str(ended) == DISPATCH_UUID
    assert workflows.cancels == [0, 1, 2, 3, 4]
    assert executions.stopped == []


def test_a_cancel_that_lands_on_the_fifth_try_is_reported_as_cancelled(table) -> None:
    # Given four failovers racing the first four cancels
    # When the fifth cancel lands
    workflows, executions, ended = cancel(table, failovers=4, steps=8)
    # Then the workflow is reported cancelled and its execution stopped (not "try again")
    assert len(workflows.cancels) == 5
    assert (ended["status"], ended["current_step"]) == ("cancelled", 4)
    assert executions.stopped == [DISPATCH_UUID]


@pytest.mark.parametrize("status", ["completed", "error"])
def test_a_workflow_that_ended_first_cannot_be_cancelled_and_the_error_names_how_it_ended(
    table, status
) -> None:
    workflows = RacingFailovers(table)
    item = stored_workflow(workflows, status=status)

    with pytest.raises(WorkflowFinished) as raised:
        cancel_workflow(item, workflows=workflows, executions=RecordingExecutions())

    assert raised.value.status == status
    assert str(raised.value) == status
    assert workflows.cancels == []


def test_a_workflow_that_vanishes_during_a_cancel_is_tried_on_its_last_read_copy(table) -> None:
    # Given a workflow whose item is gone (TTL) after it was read for the cancel
    workflows = RacingFailovers(table)
    # When it is cancelled: each conditional write is refused and nothing can be read back
    with pytest.raises(WorkflowBusy):
        cancel_workflow(canonical_item(), workflows=workflows, executions=RecordingExecutions())
    # Then each try works on the copy it has
    assert workflows.cancels == [0] * 5


# -- listing -----------------------------------------------------------------------------------------


def index_items(count: int, matching=lambda n: True) -> list[dict[str, Any]]:
    """What the account's index holds, newest first; `matching(n)` ones are completed."""
    items = []
    for n in range(count):
        dispatch_uuid = str(uuid.UUID(int=count - n))
        created_at = f"2025-01-02T{n // 60 % 24:02d}:{59 - n % 60:02d}:00.000Z"
        items.append(
            {
                **canonical_item(dispatch_uuid=dispatch_uuid),
                "gsi1sk": f"{created_at}#{n:06d}",
                "status": "completed" if matching(n) else "error",
            }
        )
    return items


class Index:
    """The index as DynamoDB queries it with a `completed` filter: `limit` items evaluated, then
    the filter, and a last evaluated key whenever the limit was reached."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items, self.limits = items, []

    def __call__(self, limit: int, start: dict | None) -> tuple[list[dict[str, Any]], dict | None]:
        self.limits.append(limit)
        offset = 0 if start is None else [i["gsi1sk"] for i in self.items].index(start["gsi1sk"]) + 1
        evaluated = self.items[offset : offset + limit]
        matches = [i for i in evaluated if i["status"] == "completed"]
        more = offset + limit < len(self.items) and len(evaluated) == limit
        last = {key: evaluated[-1][key] for key in ("pk", "gsi1pk", "gsi1sk")} if more else None
        return matches, last


def test_a_listing_shows_each_workflows_summary_and_link() -> None:
    item = {**canonical_item(), "finished_at": "2025-01-02T03:20:00.123456+00:00", "status": "completed"}

    assert workflow_summary(item) == {
        "dispatch_uuid": DISPATCH_UUID,
        "template": "failover",
        "status": "completed",
        "current_step": 0,
        "created_at": "2025-01-02T03:04:05.000Z",
        "updated_at": "2025-01-02T03:04:05.000Z",
        "finished_at": "2025-01-02T03:20:00.123Z",
        "_links": {"self": {"href": f"/v0.1/workflows/{DISPATCH_UUID}"}},
    }


def test_a_filtered_listing_queries_again_until_its_page_is_full_and_continues_after_the_last_shown() -> None:
    # Given 300 workflows of which every third one matches the filter
    items = index_items(300, matching=lambda n: n % 3 == 0)
    index = Index(items)
    # When a page of 50 is listed
    summaries, cursor = list_workflows(index, page_size=50, cursor=None, filtered=True)
    # Then read-ahead queries go on until the page is full (34 matches, then 33), and no more
    assert index.limits == [MAX_PAGE_SIZE, MAX_PAGE_SIZE]
    assert summaries == [items[n] for n in range(0, 150, 3)]
    # And the next page starts after the last one shown, not after the last one read
    assert cursor["gsi1sk"] == items[147]["gsi1sk"]


def test_a_listing_stops_at_the_end_of_the_index_with_no_cursor() -> None:
    index = Index(index_items(2))

    summaries, cursor = list_workflows(index, page_size=5, cursor=None, filtered=True)

    assert (len(summaries), cursor) == (2, None)
    assert len(index.limits) == 1


def test_a_sparse_listing_gives_up_after_five_queries_and_returns_a_short_page_with_a_cursor() -> None:
    # Given an account with few matches among many workflows
    index = Index(index_items(1000, matching=lambda n: n == 999))
    # When a page is listed
    summaries, cursor = list_workflows(index, page_size=2, cursor=None, filtered=True)
    # Then at most five queries are made, and the caller gets a cursor to continue
    assert summaries == []
    assert len(index.limits) == 5
    assert cursor is not None


# -- found by the run of 2026-11-29 -----------------------------------------------------------------


def test_a_workflow_whose_execution_cannot_start_records_when_it_ended(workflows, accounts) -> None:
    with pytest.raises(WorkflowNotStarted) as raised:
        create_workflow(
            canonical_request(),
            account_id=ACCOUNT_ID,
            status_webhook_url=None,
            workflows=workflows,
            executions=RecordingExecutions(refuse=True),
            accounts=accounts,
            retention=RETENTION,
            now=lambda: CREATED_AT,
        )
    stored = workflows.get(raised.value.args[0])
    assert (stored["status"], stored["finished_at"]) == ("error", iso(CREATED_AT))


def test_a_cancel_records_when_the_workflow_was_cancelled(workflows) -> None:
    workflows.create(canonical_item())
    moment = CREATED_AT + timedelta(minutes=3)
    item = workflows.get(DISPATCH_UUID)
    executions = RecordingExecutions()
    cancelled = cancel_workflow(item, workflows=workflows, executions=executions, now=lambda: moment)
    assert cancelled["finished_at"] == iso(moment)
    assert cancelled["steps"][0]["outcome_at"] == iso(moment)


def test_a_filtered_listing_that_fills_its_page_with_the_last_workflows_has_no_next_page() -> None:
    # Given an account with exactly a page of matching workflows
    index = Index(index_items(5))
    # When a page of 5 is listed; Then there is nothing to point a next link at
    summaries, cursor = list_workflows(index, page_size=5, cursor=None, filtered=True)
    assert (len(summaries), cursor) == (5, None)
