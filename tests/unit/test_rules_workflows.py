"""Rules of creating, listing and cancelling workflows that no unit test checked
(dispatch.domain.workflows): the listing index keys, where callbacks go, how timestamps are
shown, how a cancel races a failover, and how a listing fills its page.

Each was found by mutation testing (`make mutation`): changing the rule broke no other test.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fakes import ACCOUNT_ID, CREATED_AT, DISPATCH_UUID, RETENTION, canonical_item, canonical_request

from dispatch.domain.workflows import (
    WorkflowFinished,
    cancel_workflow,
    create_workflow,
    list_workflows,
    new_workflow_item,
    workflow_view,
)

CALLBACK = "https://example.com/callbacks"


# -- creating ----------------------------------------------------------------------------------------


def test_a_new_workflow_is_listed_under_its_account_by_creation_time() -> None:
    item = canonical_item()
    assert item["gsi1pk"] == f"ACCOUNT#{ACCOUNT_ID}#WORKFLOWS"
    assert item["gsi1sk"] == f"2025-01-02T03:04:05.000Z#{DISPATCH_UUID}"


def created(request_callback: str | None, account_callback: str | None) -> dict[str, Any]:
    """The item create_workflow stores for a request (with or without its own callback) of an
    account (with or without a default callback URL)."""
    request = canonical_request()
    request = request.model_copy(update={"callback": request_callback})
    saved: list[dict[str, Any]] = []
    create_workflow(
        request,
        account_id=ACCOUNT_ID,
        status_webhook_url=None,
        save=saved.append,
        start_execution=lambda name, execution_input: None,
        now=CREATED_AT,
        retention=RETENTION,
        default_callback_url=account_callback,
    )
    return saved[0]


@pytest.mark.parametrize(
    ("request_callback", "account_callback", "stored"),
    [
        ("https://request.example.com/cb", CALLBACK, "https://request.example.com/cb"),
        (None, CALLBACK, CALLBACK),
        ("https://request.example.com/cb", None, "https://request.example.com/cb"),
    ],
)
def test_callbacks_go_to_the_requests_callback_else_to_the_accounts_default(
    request_callback, account_callback, stored
) -> None:
    assert created(request_callback, account_callback)["callback_url"] == stored


def test_without_any_callback_url_the_workflow_has_none() -> None:
    assert "callback_url" not in created(None, None)


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


# -- cancelling --------------------------------------------------------------------------------------


class Workflow:
    """A stored workflow that cancel_workflow works on, with what it was asked to do."""

    def __init__(self, **fields: Any) -> None:
        self.item = {**canonical_item(), **fields}
        self.cancels: list[tuple[str, int]] = []
        self.stopped: list[str] = []
        self.moves_on_before_cancel = 0  # failovers that land just before each cancel

    def cancel(self, dispatch_uuid: str, step: int) -> bool:
        self.cancels.append((dispatch_uuid, step))
        if self.moves_on_before_cancel:
            self.moves_on_before_cancel -= 1
            self.item["current_step"] += 1
            return False  # the conditional write names the step it read: refused
        self.item["status"] = "cancelled"
        return True

    def run(self) -> dict[str, Any]:
        return cancel_workflow(
            copy.deepcopy(self.item),
            cancel=self.cancel,
            reload=lambda: copy.deepcopy(self.item),
            stop_execution=self.stopped.append,
        )


def test_cancelling_a_workflow_in_progress_cancels_its_current_step_and_stops_its_execution() -> None:
    workflow = Workflow(current_step=1)

    ended = workflow.run()

    assert ended["status"] == "cancelled"
    assert workflow.cancels == [(DISPATCH_UUID, 1)]
    assert workflow.stopped == [DISPATCH_UUID]


def test_a_cancel_that_races_a_failover_is_tried_again_on_the_new_step() -> None:
    # Given a failover that lands between reading the workflow and cancelling it
    workflow = Workflow()
    workflow.moves_on_before_cancel = 1
    # When it is cancelled
    ended = workflow.run()
    # Then the cancel is retried on the step the workflow moved to
    assert workflow.cancels == [(DISPATCH_UUID, 0), (DISPATCH_UUID, 1)]
    assert ended["status"] == "cancelled"


def test_a_workflow_that_keeps_moving_gives_up_after_five_tries() -> None:
    workflow = Workflow()
    workflow.moves_on_before_cancel = 5
    with pytest.raises(TimeoutError):
        workflow.run()
    assert len(workflow.cancels) == 5
    assert workflow.stopped == []


def test_a_cancel_that_lands_on_the_fifth_try_is_reported_as_cancelled() -> None:
    # Given four failovers racing the first four cancels
    workflow = Workflow()
    workflow.moves_on_before_cancel = 4
    # When the fifth cancel lands
    ended = workflow.run()
    # Then the workflow is reported cancelled and its execution stopped (not "try again")
    assert ended["status"] == "cancelled"
    assert workflow.stopped == [DISPATCH_UUID]


def test_cancelling_a_cancelled_workflow_changes_nothing_but_stops_its_execution_again() -> None:
    workflow = Workflow(status="cancelled")

    ended = workflow.run()

    assert ended["status"] == "cancelled"
    assert workflow.cancels == []
    assert workflow.stopped == [DISPATCH_UUID]


@pytest.mark.parametrize("status", ["completed", "error"])
def test_a_workflow_that_ended_first_cannot_be_cancelled(status) -> None:
    workflow = Workflow(status=status)

    with pytest.raises(WorkflowFinished) as raised:
        workflow.run()

    assert raised.value.status == status
    assert str(raised.value) == status
    assert workflow.cancels == []


def test_a_workflow_that_vanishes_during_a_cancel_is_shown_as_last_read() -> None:
    # Given a workflow whose item is gone (TTL) when it is read back after a refused cancel
    item = canonical_item()
    calls: list[int] = []

    def cancel(dispatch_uuid: str, step: int) -> bool:
        calls.append(step)
        return False

    with pytest.raises(TimeoutError):
        cancel_workflow(item, cancel=cancel, reload=lambda: None, stop_execution=lambda _: None)
    # Then each try works on the copy it has
    assert calls == [0] * 5


# -- listing -----------------------------------------------------------------------------------------


def summary_item(n: int, **fields: Any) -> dict[str, Any]:
    item = canonical_item(dispatch_uuid=f"00000000-0000-0000-0000-{n:012d}")
    return {**item, **fields}


class Index:
    """The account's index: pages of at most `limit` items, of which only `matching` pass the
    status filter (so a query page can come back short)."""

    def __init__(self, items: list[dict[str, Any]], matching=lambda item: True) -> None:
        self.items, self.matching = items, matching
        self.queries: list[tuple[int, Any]] = []

    def query_page(self, limit: int, cursor: Any) -> tuple[list[dict[str, Any]], Any]:
        self.queries.append((limit, cursor))
        start = cursor or 0
        page = self.items[start : start + limit]
        following = start + limit if start + limit < len(self.items) else None
        return [item for item in page if self.matching(item)], following


def test_a_listing_shows_each_workflows_summary_and_link() -> None:
    index = Index([summary_item(1, finished_at="2025-01-02T03:20:00.123456+00:00", status="completed")])

    [summary], cursor = list_workflows(index.query_page, page_size=20, cursor=None)

    assert cursor is None
    assert summary == {
        "dispatch_uuid": "00000000-0000-0000-0000-000000000001",
        "template": "failover",
        "status": "completed",
        "current_step": 0,
        "created_at": "2025-01-02T03:04:05.000Z",
        "updated_at": "2025-01-02T03:04:05.000Z",
        "finished_at": "2025-01-02T03:20:00.123Z",
        "_links": {"self": {"href": "/v0.1/workflows/00000000-0000-0000-0000-000000000001"}},
    }


def test_a_filtered_listing_queries_again_to_fill_its_page_asking_only_for_what_is_missing() -> None:
    # Given 10 workflows of which every other one matches the filter
    index = Index(
        [summary_item(n) for n in range(10)], matching=lambda item: item["dispatch_uuid"][-1] in "02468"
    )
    # When a page of 3 is listed
    summaries, cursor = list_workflows(index.query_page, page_size=3, cursor=None)
    # Then queries go on until the page is full, each for the summaries still missing
    assert [s["dispatch_uuid"][-1] for s in summaries] == ["0", "2", "4"]
    assert index.queries == [(3, None), (1, 3), (1, 4)]
    assert cursor == 5


def test_a_listing_stops_at_the_end_of_the_index_with_no_cursor() -> None:
    index = Index([summary_item(n) for n in range(2)])

    summaries, cursor = list_workflows(index.query_page, page_size=5, cursor=None)

    assert (len(summaries), cursor) == (2, None)
    assert len(index.queries) == 1


def test_a_sparse_listing_gives_up_after_a_few_queries_and_returns_a_short_page_with_a_cursor() -> None:
    # Given an account with few matches among many workflows
    index = Index([summary_item(n) for n in range(50)], matching=lambda item: False)
    # When a page is listed
    summaries, cursor = list_workflows(index.query_page, page_size=2, cursor=None)
    # Then at most five queries are made, and the caller gets a cursor to continue
    assert summaries == []
    assert len(index.queries) == 5
    assert cursor is not None


@pytest.mark.parametrize(
    "outcome", ["condition_met", "expired", "send_failed", "rejected", "undeliverable", "cancelled"]
)
def test_every_outcome_the_state_machine_or_a_cancel_writes_can_be_shown(outcome) -> None:
    # Given a step decided by whichever writer (the state machine writes expired and send_failed)
    item = canonical_item()
    item["steps"][0].update(outcome=outcome, outcome_at="2025-01-02T03:14:07.000Z")
    # Then the workflow shows it as written
    assert workflow_view(item)["workflow"][0]["outcome"] == outcome
