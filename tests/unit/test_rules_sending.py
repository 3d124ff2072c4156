"""Rules of sending a step that the other send tests leave unchecked (dispatch.domain.sending):
what a send answers when the workflow ended before or during it, and what it stores.

Each was found by mutation testing (`make mutation`): changing the rule broke no other test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fakes import DISPATCH_UUID, EXPIRY_TIME, stored_canonical_workflow

from dispatch.clock import iso
from dispatch.domain.sending import SendOutcome, WorkflowNotFound, send_step
from dispatch.integrations.messages_api import SendResult
from dispatch.storage.workflow_repository import WorkflowRepository, message_key, workflow_key

NOW = datetime(2025, 1, 2, 3, 5, 0, tzinfo=UTC)
LATER = datetime(2025, 1, 2, 3, 5, 9, tzinfo=UTC)
MESSAGE_UUID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
REFUSAL = {"http_status": 422, "title": "Invalid"}  # the provider's refusal, as it sent it


class Provider:
    """The Messages API: answers every send with `result`, and counts the sends."""

    def __init__(self, result: SendResult | None = None) -> None:
        self.result = result or SendResult(accepted=True, message_uuid=MESSAGE_UUID)
        self.sent: list[dict[str, Any]] = []

    def send(self, body: dict[str, Any]) -> SendResult:
        self.sent.append(body)
        return self.result


class MovesOnBeforeTheClaim(WorkflowRepository):
    """The real repository, where something else happens to the workflow between send_step's
    first read and its claim (a cancel, a status deciding it, the item expiring), as concurrent
    Lambdas do; `meanwhile` writes to the table directly."""

    def __init__(self, table: Any) -> None:
        super().__init__(table)
        self.table = table
        self.meanwhile: Any = lambda: None

    def claim_send(self, dispatch_uuid: str, step_index: int, now: str) -> bool:
        self.meanwhile()
        return super().claim_send(dispatch_uuid, step_index, now)

    def set_status(self, status: str) -> None:
        """Another writer ends the workflow (a cancel, or a status deciding it)."""
        self.table.update_item(
            Key=workflow_key(DISPATCH_UUID),
            UpdateExpression="SET #status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": status},
        )

    def expire(self) -> None:
        """DynamoDB's TTL removes the workflow item."""
        self.table.delete_item(Key=workflow_key(DISPATCH_UUID))


def send(workflows, provider: Provider, step_index: int = 0, now: datetime = NOW) -> SendOutcome:
    return send_step(
        DISPATCH_UUID,
        step_index,
        workflows=workflows,
        messages_api=lambda: provider,
        final_status_timeout=86400,
        now=lambda: now,
    )


@pytest.fixture
def workflows(table) -> MovesOnBeforeTheClaim:
    workflows = MovesOnBeforeTheClaim(table)
    stored_canonical_workflow(workflows)
    return workflows


def stored(workflows) -> dict[str, Any]:
    return workflows.get(DISPATCH_UUID)


# -- a workflow that ended before the send ------------------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "error", "cancelled"])
def test_a_send_for_an_ended_workflow_goes_on_to_read_how_it_ended_not_down_the_failover_path(
    workflows, status
) -> None:
    # Given a workflow that ended while its step was being sent (a retry of the send task)
    provider = Provider()
    send(workflows, provider)
    workflows.set_status(status)
    # When the send is retried
    outcome = send(workflows, provider)
    # Then it is reported accepted, with no wait: the state machine reads the step and ends as the
    # workflow did; `accepted=False` would take the "Send failed" path and fail over instead
    assert outcome == SendOutcome(accepted=True, wait_seconds=0, message_uuid=MESSAGE_UUID)
    assert len(provider.sent) == 1


def test_the_workflow_not_found_error_names_the_workflow(table) -> None:
    # Given no stored workflow (it expired); When its step is sent; Then the task fails naming it
    with pytest.raises(WorkflowNotFound) as raised:
        send(WorkflowRepository(table), Provider())
    assert str(raised.value) == DISPATCH_UUID


# -- a workflow that moves on between the first read and the claim ----------------------------------


@pytest.mark.parametrize("status", ["cancelled", "completed"])
def test_a_workflow_that_ends_between_the_read_and_the_claim_is_not_sent_and_not_waited_for(
    workflows, status
) -> None:
    # Given a workflow that is cancelled (or decided) after send_step read it, before its claim
    workflows.meanwhile = lambda: workflows.set_status(status)
    provider = Provider()
    # When its step is sent
    outcome = send(workflows, provider)
    # Then send_step reads the workflow again rather than trust its stale copy: nothing is sent,
    # and the state machine reads the outcome at once instead of waiting out the expiry
    assert provider.sent == []
    assert outcome == SendOutcome(accepted=True, wait_seconds=0, message_uuid=None)


def test_a_retry_that_finds_the_workflow_decided_since_its_read_reports_the_sent_message(workflows) -> None:
    # Given a step sent and accepted, and a retry of the send task that read the workflow in
    # progress, while a status completed it before the retry's claim
    provider = Provider()
    send(workflows, provider)
    workflows.meanwhile = lambda: workflows.set_status("completed")
    # When the retry goes on
    outcome = send(workflows, provider)
    # Then it reports the message already sent, with no wait, and sends nothing
    assert outcome == SendOutcome(accepted=True, wait_seconds=0, message_uuid=MESSAGE_UUID)
    assert len(provider.sent) == 1


def test_a_workflow_that_expires_between_the_read_and_the_claim_does_not_crash_the_send(workflows) -> None:
    # Given a workflow item removed (TTL) after send_step read it
    workflows.meanwhile = workflows.expire
    provider = Provider()
    # When its step is sent
    outcome = send(workflows, provider)
    # Then nothing is sent, and the state machine waits as for any send it cannot confirm
    assert provider.sent == []
    assert outcome == SendOutcome(accepted=True, wait_seconds=EXPIRY_TIME, message_uuid=None)


# -- what a send stores -------------------------------------------------------------------------------


def test_the_claim_records_when_the_send_started(workflows) -> None:
    send(workflows, Provider())
    assert stored(workflows)["steps"][0]["send_started_at"] == iso(NOW)


def test_the_message_uuid_lookup_expires_with_its_workflow(workflows) -> None:
    # Given a workflow with a TTL; When its step is sent and accepted
    send(workflows, Provider())
    # Then the record that finds the step by message_uuid has the same TTL (no orphan records)
    lookup = workflows.table.get_item(Key=message_key(MESSAGE_UUID))["Item"]
    assert int(lookup["expires_at"]) == stored(workflows)["expires_at"]


def test_a_refused_send_records_when_it_was_refused(workflows) -> None:
    send(workflows, Provider(SendResult(accepted=False, error=REFUSAL)), now=LATER)
    assert stored(workflows)["updated_at"] == iso(LATER)


def test_a_retry_after_a_refused_send_fails_over_at_once(workflows) -> None:
    # Given a send the provider refused
    provider = Provider(SendResult(accepted=False, error=REFUSAL))
    send(workflows, provider)
    # When the send task is retried
    retry = send(workflows, provider)
    # Then it is still refused, and the state machine does not wait before failing over
    assert retry == SendOutcome(accepted=False, wait_seconds=0, message_uuid=None)
    assert len(provider.sent) == 1
