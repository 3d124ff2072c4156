"""Rules of recording statuses that the other status tests leave unchecked
(dispatch.domain.status_updates): redeliveries after a crash, concurrent writers, and two
different failures for one step.

Each was found by mutation testing (`make mutation`): changing the rule broke no other test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from dynamodb import fail_over
from fakes import DISPATCH_UUID, stored_canonical_workflow

from dispatch.clock import iso
from dispatch.domain.ports import StepDecided
from dispatch.domain.status_updates import (
    RecordResult,
    StatusWebhook,
    parse_status_webhook,
    record_message_status,
)
from dispatch.domain.statuses import MessageStatus, rank
from dispatch.storage.workflow_repository import WorkflowRepository, workflow_key

NOW = datetime(2025, 1, 2, 3, 6, 0, tzinfo=UTC)
MESSAGE_UUIDS = ("aaaaaaaa-0000-0000-0000-000000000000", "bbbbbbbb-1111-1111-1111-111111111111")


class ConcurrentWriter(WorkflowRepository):
    """The real repository, where another webhook Lambda stores the same status for the same step
    between this one's read of the workflow and its own write (at-least-once delivery runs
    duplicates side by side). The other writer has not decided anything yet."""

    def __init__(self, table: Any) -> None:
        super().__init__(table)
        self.table = table
        self.armed = False

    def record_status(self, dispatch_uuid: str, step_index: int, **status: Any) -> bool:
        if self.armed:
            self.armed = False
            assert super().record_status(dispatch_uuid, step_index, **status), "the other writer stores it"
        return super().record_status(dispatch_uuid, step_index, **status)


@pytest.fixture
def workflows(table) -> ConcurrentWriter:
    """The canonical workflow, its first message being sent (the send attempt is recorded before
    the provider is called, so before any status)."""
    workflows = ConcurrentWriter(table)
    stored_canonical_workflow(workflows)
    assert workflows.claim_send(DISPATCH_UUID, 0, "2025-01-02T03:05:00.000Z")
    return workflows


def with_callbacks(workflows: ConcurrentWriter) -> None:
    """The workflow was created with a callback URL (callbacks are published)."""
    workflows.table.update_item(
        Key=workflow_key(DISPATCH_UUID),
        UpdateExpression="SET callback_url = :url",
        ExpressionAttributeValues={":url": "https://example.com/callbacks"},
    )


def webhook(status: str, *, step: int = 0, second: int = 0, **fields: Any) -> StatusWebhook:
    return parse_status_webhook(
        json.dumps(
            {
                "message_uuid": MESSAGE_UUIDS[step],
                "timestamp": f"2025-01-02T03:05:{second:02d}Z",
                "status": status,
                "client_ref": f"{DISPATCH_UUID}:{step}",
                **fields,
            }
        )
    )


def record(workflows, status: str, *, published: list | None = None, **options: Any) -> RecordResult:
    return record_message_status(
        webhook(status, **options),
        workflows=workflows,
        publish=published.append if published is not None else None,
        now=lambda: NOW,
    )


def stored_without_deciding(workflows, status: str, step: int = 0) -> None:
    """What a status Lambda that crashed right after its write left behind."""
    assert workflows.record_status(
        DISPATCH_UUID,
        step,
        status=status,
        rank=rank(MessageStatus(status)),
        status_at="2025-01-02T03:05:00.000Z",
        message_uuid=MESSAGE_UUIDS[step],
    )


def workflow(workflows) -> dict[str, Any]:
    return workflows.get(DISPATCH_UUID)


def fail_over_to_last_step(workflows) -> None:
    """What the state machine does when step 0's wait ends: move on to step 1 and send it."""
    assert fail_over(workflows.table, DISPATCH_UUID, 0, "expired", "2025-01-02T03:15:00.000Z")
    assert workflows.claim_send(DISPATCH_UUID, 1, "2025-01-02T03:15:00.000Z")


# -- a crash between storing a status and deciding the step ----------------------------------------


def test_a_status_redelivered_after_a_crash_between_storing_and_deciding_still_decides_the_step(
    workflows,
) -> None:
    # Given step 0 (condition read) whose read was stored by a Lambda that crashed before deciding
    stored_without_deciding(workflows, "read")
    assert workflow(workflows)["status"] == "in_progress"
    # When the Messages API redelivers the same read (its write is refused: same rank)
    result = record(workflows, "read")
    # Then the redelivery decides the step from the stored status: the workflow completes now,
    # not at the expiry
    stored = workflow(workflows)
    assert result is RecordResult.IGNORED
    assert (stored["status"], stored["steps"][0]["outcome"]) == ("completed", "condition_met")
    assert stored["finished_at"] == iso(NOW)


def test_a_lower_status_arriving_after_such_a_crash_decides_by_the_higher_stored_one(workflows) -> None:
    # Given a stored, undecided read; When a late delivered arrives
    stored_without_deciding(workflows, "read")
    record(workflows, "delivered")
    # Then the step is decided by what is stored (read meets the condition)
    assert workflow(workflows)["status"] == "completed"


@pytest.mark.parametrize("failure", ["rejected", "undeliverable"])
def test_a_failure_of_the_last_message_redelivered_after_a_crash_ends_the_workflow_in_error(
    workflows, failure
) -> None:
    # Given the last step's failure stored by a Lambda that crashed before deciding
    fail_over_to_last_step(workflows)
    stored_without_deciding(workflows, failure, step=1)
    # When the failure is redelivered
    record(workflows, failure, step=1)
    # Then the workflow ends in error with that failure
    stored = workflow(workflows)
    assert (stored["status"], stored["steps"][1]["outcome"]) == ("error", failure)


def test_a_redelivery_after_a_crash_publishes_the_status_and_the_final_report(workflows) -> None:
    # Given callbacks on, and a stored, undecided read (neither callback was published)
    with_callbacks(workflows)
    stored_without_deciding(workflows, "read")
    published: list = []
    # When the read is redelivered
    record(workflows, "read", published=published, second=7)
    # Then both callbacks go out, the status one with the status's own time and message
    status, report = published
    assert (status.kind, status.status, report.kind) == ("message_status", "read", "final_report")
    assert (status.timestamp, status.message_uuid) == ("2025-01-02T03:05:07.000Z", MESSAGE_UUIDS[0])


# -- a concurrent writer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["submitted", "read"])
def test_a_status_stored_by_a_concurrent_writer_after_our_read_is_ignored_without_crashing(
    workflows, status
) -> None:
    # Given another Lambda that stores the same status between this one's read and its write
    workflows.armed = True
    published: list = []
    with_callbacks(workflows)
    # When this one records it (its read shows no status at all)
    result = record(workflows, status, published=published)
    # Then its refused write is no error: it is ignored, and it leaves deciding and publishing to
    # the writer that stored it
    stored = workflow(workflows)
    assert result is RecordResult.IGNORED
    assert stored["steps"][0]["status"] == status
    assert stored["status"] == "in_progress"
    assert published == []


# -- two different failures for one step -----------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [("rejected", "undeliverable"), ("undeliverable", "rejected")])
def test_the_first_failure_of_a_message_stands_when_another_failure_follows(workflows, first, second) -> None:
    # Given a message that failed
    assert record(workflows, first, second=1) is RecordResult.RECORDED
    # When a different failure arrives for it
    result = record(workflows, second, second=2)
    # Then the first one stands: failures rank alike, and neither overwrites the other
    assert result is RecordResult.IGNORED
    assert workflow(workflows)["steps"][0]["status"] == first


@pytest.mark.parametrize(("first", "second"), [("rejected", "undeliverable"), ("undeliverable", "rejected")])
def test_the_last_message_ends_the_workflow_with_its_first_failure(workflows, first, second) -> None:
    fail_over_to_last_step(workflows)

    record(workflows, first, step=1, second=1)
    record(workflows, second, step=1, second=2)

    stored = workflow(workflows)
    assert (stored["status"], stored["steps"][1]["outcome"], stored["steps"][1]["status"]) == (
        "error",
        first,
        first,
    )


# -- what is kept of an error -------------------------------------------------------------------------------


def test_an_error_keeps_its_code_as_a_number_its_title_as_the_reason_and_its_type(workflows) -> None:
    error = {"type": "https://example.com/errors#1320", "title": "Undeliverable", "code": 1320, "detail": "x"}
    record(workflows, "undeliverable", error=error)
    assert workflow(workflows)["steps"][0]["status_error"] == {
        "code": 1320,
        "reason": "Undeliverable",
        "type": error["type"],
    }


def test_only_currency_and_price_of_the_usage_are_kept_as_strings(workflows) -> None:
    record(workflows, "delivered", usage={"price": 0.5, "currency": "USD", "network": "23415"})
    assert workflow(workflows)["steps"][0]["usage"] == {"price": "0.5", "currency": "USD"}


def test_the_status_webhook_answers_with_these_result_names() -> None:
    # The status webhook's 200 body carries them: {"result": "recorded" | "ignored" | "unknown_message"}
    assert [result.value for result in RecordResult] == ["recorded", "ignored", "unknown_message"]


# -- found by mutation testing (`make mutation`, 2026-11-29) -------------------------------------


def test_the_step_decided_carries_its_index_and_the_token_stored_for_that_step() -> None:
    old = {"task_token_step": 1, "task_token": "token-1"}
    assert StepDecided.from_old_values(1, old) == StepDecided(step_index=1, task_token="token-1")
    assert StepDecided.from_old_values(0, old) == StepDecided(step_index=0, task_token=None)


# -- found by mutation testing (`make mutation`, second pass) ------------------------------------


@pytest.mark.parametrize(
    ("status", "stored_rank"),
    [("submitted", 1), ("delivered", 2), ("read", 4), ("rejected", 4), ("undeliverable", 4)],
)
def test_each_status_is_stored_with_the_rank_that_items_already_in_the_table_hold(
    workflows, status, stored_rank
) -> None:
    # The ranks are part of the table's format: a redelivered status is refused by comparing its
    # rank with the stored one, so a status must keep the rank items written before hold
    record(workflows, status)
    assert workflow(workflows)["steps"][0]["status_rank"] == stored_rank
