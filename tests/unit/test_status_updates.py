"""Recording status webhooks and deciding steps by them (dispatch.domain.status_updates), with
the real WorkflowRepository on moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from dynamodb import fail_over, items, wait_for_status
from fakes import DISPATCH_UUID, PII, stored_canonical_workflow

from dispatch.clock import iso
from dispatch.domain.status_updates import (
    RecordResult,
    StatusWebhook,
    Wake,
    parse_status_webhook,
    record_message_status,
)
from dispatch.storage.workflow_repository import WorkflowRepository

NOW = datetime(2025, 1, 2, 3, 6, 0, tzinfo=UTC)
MESSAGE_UUIDS = ("aaaaaaaa-0000-0000-0000-000000000000", "bbbbbbbb-1111-1111-1111-111111111111")
OURS = object()  # the default client_ref: the one send_step set on the step's message


@pytest.fixture
def workflows(workflows: WorkflowRepository) -> WorkflowRepository:
    """The repository, holding the canonical workflow, its first message being sent (the send
    attempt is recorded before the provider is called, so before any status)."""
    stored_canonical_workflow(workflows)
    assert workflows.claim_send(DISPATCH_UUID, 0, "2025-01-02T03:05:00.000Z")
    return workflows


def webhook(
    status: str, *, step: int = 0, client_ref: Any = OURS, second: int = 0, **fields
) -> StatusWebhook:
    """A v1 status webhook, as the Messages API posts it."""
    body = {
        "message_uuid": MESSAGE_UUIDS[step],
        "to": "447700900001",
        "from": "447700900000",
        "timestamp": f"2025-01-02T03:05:{second:02d}Z",
        "status": status,
        "channel": "messenger" if step == 0 else "sms",
        **fields,
    }
    if client_ref is OURS:
        body["client_ref"] = f"{DISPATCH_UUID}:{step}"
    elif client_ref is not None:
        body["client_ref"] = client_ref
    return parse_status_webhook(json.dumps(body))


def record(workflows, status: str, **options) -> RecordResult:
    return record_message_status(webhook(status, **options), workflows=workflows, now=lambda: NOW)


def workflow(workflows) -> dict[str, Any]:
    return workflows.get(DISPATCH_UUID)


@pytest.fixture
def fail_over_from_first_step(table, workflows):
    def fail_over_from_first_step() -> None:
        """What the state machine does when step 0's wait ends without its condition: move on
        to step 1, and start sending it."""
        assert fail_over(table, DISPATCH_UUID, 0, "expired", "2025-01-02T03:15:00.000Z")
        assert workflows.claim_send(DISPATCH_UUID, 1, "2025-01-02T03:15:00.000Z")

    return fail_over_from_first_step


# -- finding the step --------------------------------------------------------------------------


def test_a_status_finds_its_step_by_client_ref_even_before_the_send_is_recorded(workflows) -> None:
    # Given a step whose send response has not been stored yet (no message_uuid, no index item)
    assert workflows.find_step_by_message_uuid(MESSAGE_UUIDS[0]) is None
    # When its first status arrives
    result = record(workflows, "submitted", second=7)
    # Then it lands on that step, with its message_uuid
    stored = workflow(workflows)["steps"][0]
    assert result is RecordResult.RECORDED
    assert (stored["status"], stored["status_at"], stored["message_uuid"]) == (
        "submitted",
        "2025-01-02T03:05:07.000Z",
        MESSAGE_UUIDS[0],
    )
    assert "status" not in workflow(workflows)["steps"][1]


@pytest.mark.parametrize("client_ref", [None, "customer-ref-42"])
def test_without_our_client_ref_a_status_finds_its_step_by_message_uuid(
    workflows, fail_over_from_first_step, client_ref
) -> None:
    # Given step 1 was sent and its message_uuid indexed
    fail_over_from_first_step()
    workflows.record_send_accepted(DISPATCH_UUID, 1, MESSAGE_UUIDS[1], "2025-01-02T03:15:01.000Z", 0)
    # When a status for it arrives without our client_ref
    result = record(workflows, "submitted", step=1, client_ref=client_ref)
    # Then it lands on step 1, not step 0
    steps = workflow(workflows)["steps"]
    assert result is RecordResult.RECORDED
    assert steps[1]["status"] == "submitted"
    assert "status" not in steps[0]


@pytest.mark.parametrize(
    "client_ref",
    [
        None,  # and no index item for the message_uuid
        "customer-ref-42",
        "4b1c0000-0000-0000-0000-000000000000:0",  # a workflow that is not stored (or expired)
        f"{DISPATCH_UUID}:2",  # a step the workflow does not have
        f"{DISPATCH_UUID}:99",
    ],
)
def test_a_status_for_no_known_step_is_reported_unknown_and_changes_nothing(
    workflows, table, client_ref
) -> None:
    before = items(table)

    result = record(workflows, "read", client_ref=client_ref)

    assert result is RecordResult.UNKNOWN_MESSAGE
    assert items(table) == before


# -- deciding a step with a failover condition (step 0: condition read) ------------------------


def test_reaching_the_condition_completes_the_workflow_at_once(workflows) -> None:
    # Given step 0 waits for read
    # When a read status arrives for it
    result = record(workflows, "read")
    # Then the workflow is completed, on step 0's account
    stored = workflow(workflows)
    assert result is RecordResult.RECORDED
    assert stored["status"] == "completed"
    assert stored["finished_at"] == iso(NOW)
    assert stored["current_step"] == 0
    assert (stored["steps"][0]["outcome"], stored["steps"][0]["outcome_at"]) == ("condition_met", iso(NOW))
    assert stored["steps"][0]["status"] == "read"


@pytest.mark.parametrize("status", ["submitted", "delivered"])
def test_a_status_short_of_the_condition_is_recorded_but_decides_nothing(workflows, status: str) -> None:
    # Given step 0 waits for read
    # When a lower status arrives
    result = record(workflows, status)
    # Then it is stored, and the workflow goes on waiting
    stored = workflow(workflows)
    assert result is RecordResult.RECORDED
    assert stored["steps"][0]["status"] == status
    assert stored["status"] == "in_progress"
    assert "outcome" not in stored["steps"][0]
    assert "finished_at" not in stored


def test_duplicate_and_out_of_order_statuses_never_move_a_step_backwards(workflows) -> None:
    # Given statuses that arrive duplicated and out of order (sandbox recipient ...07)
    arrivals = [("read", 1), ("delivered", 2), ("read", 3), ("submitted", 4)]
    # When each is recorded
    results = [record(workflows, status, second=second) for status, second in arrivals]
    # Then only the first is stored; the rest are ignored
    assert results == [
        RecordResult.RECORDED,
        RecordResult.IGNORED,
        RecordResult.IGNORED,
        RecordResult.IGNORED,
    ]
    stored = workflow(workflows)
    assert (stored["steps"][0]["status"], stored["steps"][0]["status_at"]) == (
        "read",
        "2025-01-02T03:05:01.000Z",
    )
    assert stored["status"] == "completed"


def test_statuses_in_order_each_move_the_step_forward(workflows) -> None:
    results = [
        record(workflows, status, second=n) for n, status in enumerate(["submitted", "delivered", "read"])
    ]
    assert results == [RecordResult.RECORDED] * 3
    assert workflow(workflows)["steps"][0]["status"] == "read"


def test_a_late_read_for_a_step_already_failed_over_does_not_complete_the_workflow(
    workflows, fail_over_from_first_step
) -> None:
    # Given step 0 expired and the workflow moved on to step 1
    fail_over_from_first_step()
    # When step 0's read status arrives late
    record(workflows, "read")
    # Then the workflow is still waiting on step 1, and step 0 keeps its outcome
    stored = workflow(workflows)
    assert stored["status"] == "in_progress"
    assert stored["current_step"] == 1
    assert stored["steps"][0]["outcome"] == "expired"
    assert "finished_at" not in stored


@pytest.mark.parametrize("failure", ["rejected", "undeliverable"])
def test_a_success_after_a_terminal_failure_does_not_complete_the_workflow(workflows, failure: str) -> None:
    # Given step 0 (condition read) failed: failures are terminal for a step
    assert record(workflows, failure, second=1) is RecordResult.RECORDED
    # When a read arrives afterwards, and is ignored as out of order
    assert record(workflows, "read", second=2) is RecordResult.IGNORED
    # Then the step's stored failure stands: the workflow fails over, it does not complete
    stored = workflow(workflows)
    assert stored["steps"][0]["status"] == failure
    assert stored["steps"][0]["outcome"] == failure
    assert stored["status"] == "in_progress"


@pytest.mark.parametrize("failure", ["rejected", "undeliverable"])
def test_a_failed_message_decides_its_step_at_once_and_leaves_the_failover_to_the_state_machine(
    workflows, failure: str
) -> None:
    # Given step 0 waits for read
    # When its message fails
    result = record(workflows, failure)
    # Then the step is decided with that outcome now, not at its expiry; the workflow goes on
    # (moving to step 1 is the state machine's conditional write, once woken)
    stored = workflow(workflows)
    assert result is RecordResult.RECORDED
    assert (stored["steps"][0]["outcome"], stored["steps"][0]["outcome_at"]) == (failure, iso(NOW))
    assert (stored["status"], stored["current_step"]) == ("in_progress", 0)
    assert "finished_at" not in stored


def test_a_failure_after_the_step_expired_changes_nothing(workflows, fail_over_from_first_step) -> None:
    # Given step 0 expired and the workflow moved on to step 1
    fail_over_from_first_step()
    # When step 0's rejection arrives late
    record(workflows, "rejected")
    # Then step 0 keeps the outcome the state machine gave it
    stored = workflow(workflows)
    assert (stored["current_step"], stored["steps"][0]["outcome"]) == (1, "expired")


# -- deciding the last step (no condition) -----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "workflow_status", "outcome"),
    [
        ("delivered", "completed", "condition_met"),
        ("read", "completed", "condition_met"),
        ("rejected", "error", "rejected"),
        ("undeliverable", "error", "undeliverable"),
    ],
)
def test_a_final_status_on_the_last_step_ends_the_workflow(
    workflows, fail_over_from_first_step, status, workflow_status, outcome
) -> None:
    # Given the workflow failed over to its last step
    fail_over_from_first_step()
    # When a final status arrives for it
    result = record(workflows, status, step=1)
    # Then the workflow ends: completed when delivered, error with the failure otherwise
    stored = workflow(workflows)
    assert result is RecordResult.RECORDED
    assert (stored["status"], stored["steps"][1]["outcome"]) == (workflow_status, outcome)
    assert stored["finished_at"] == iso(NOW)


def test_submitted_on_the_last_step_decides_nothing(workflows, fail_over_from_first_step) -> None:
    fail_over_from_first_step()

    record(workflows, "submitted", step=1)

    stored = workflow(workflows)
    assert stored["status"] == "in_progress"
    assert "outcome" not in stored["steps"][1]


def test_a_status_for_a_step_never_sent_is_not_stored_against_it(workflows, table) -> None:
    # Given the last step was never sent (the state machine has not failed over to it)
    before = items(table)
    # When a validly signed status names it by client_ref
    result = record(workflows, "delivered", step=1)
    # Then nothing is stored against it, and nothing is decided
    assert result is RecordResult.UNKNOWN_MESSAGE
    assert items(table) == before


def test_a_status_of_another_message_is_not_stored_against_a_step(workflows, table) -> None:
    # Given step 0 was sent as message A
    workflows.record_send_accepted(DISPATCH_UUID, 0, MESSAGE_UUIDS[0], "2025-01-02T03:05:01.000Z", 0)
    before = items(table)
    # When a status of message B claims step 0 by client_ref
    read = webhook("read")._replace(message_uuid=MESSAGE_UUIDS[1])
    result = record_message_status(read, workflows=workflows, now=lambda: NOW)
    # Then it is not stored against step 0
    assert result is RecordResult.UNKNOWN_MESSAGE
    assert items(table) == before


def test_a_status_for_the_last_step_before_the_failover_is_recorded_does_not_decide(workflows) -> None:
    # Given the last step is being sent while the failover write has not landed yet
    assert workflows.claim_send(DISPATCH_UUID, 1, "2025-01-02T03:14:59.000Z")
    # When its delivered status arrives
    result = record(workflows, "delivered", step=1)
    # Then it is stored, but only the current step may decide the workflow
    stored = workflow(workflows)
    assert result is RecordResult.RECORDED
    assert stored["steps"][1]["status"] == "delivered"
    assert stored["status"] == "in_progress"


@pytest.mark.parametrize("late", ["rejected", "undeliverable"])
def test_a_late_failure_never_rewrites_a_read_step(workflows, late) -> None:
    # Given step 0 was read: the workflow completed on it
    assert record(workflows, "read", second=1) is RecordResult.RECORDED
    # When a validly signed failure arrives for it later
    assert record(workflows, late, second=2, error={"type": "https://x/errors#1300"}) is RecordResult.IGNORED
    # Then the step keeps `read` (terminal statuses are final for their step)
    stored = workflow(workflows)
    assert (stored["status"], stored["steps"][0]["status"], stored["steps"][0]["outcome"]) == (
        "completed",
        "read",
        "condition_met",
    )
    assert "status_error" not in stored["steps"][0]


def test_read_on_an_sms_step_is_reached_by_delivered(workflows, table) -> None:
    # Given an SMS step waiting for `read` (SMS has no read receipts)
    table.update_item(
        Key={"pk": f"WORKFLOW#{DISPATCH_UUID}"},
        UpdateExpression="SET steps[0].channel = :sms, steps[0].condition_status = :read",
        ExpressionAttributeValues={":sms": "sms", ":read": "read"},
    )
    # When it is delivered
    record(workflows, "delivered")
    # Then its condition is met: the workflow completes on it, still showing the `read` it asked for
    stored = workflow(workflows)
    assert (stored["status"], stored["steps"][0]["outcome"]) == ("completed", "condition_met")
    assert stored["steps"][0]["condition_status"] == "read"


# -- what is stored with a status --------------------------------------------------------------


def test_usage_is_stored_as_currency_and_price_only(workflows) -> None:
    record(workflows, "delivered", usage={"currency": "EUR", "price": 0.0333, "billable": True})
    assert workflow(workflows)["steps"][0]["usage"] == {"currency": "EUR", "price": "0.0333"}


def test_an_error_is_stored_in_the_dispatch_shape_without_the_recipient(workflows) -> None:
    # Given a rejection whose detail quotes the recipient (PSIDs and page ids are digits)
    error = {
        "type": "https://developer.vonage.com/api-errors/messages#1320",
        "title": 1320,
        "detail": "Message failed because 1234567890 has blocked the page",
        "instance": "bf0ca0bf-927b-3b52-e5b5-5f5a8a4e0c79",
    }
    # When it is recorded
    record(workflows, "rejected", error=error)
    # Then the step keeps Dispatch's integer code and the reason, its digits masked, and no
    # personal data reaches `steps`
    stored = workflow(workflows)["steps"][0]
    assert stored["status_error"] == {
        "code": 1320,
        "reason": "Message failed because … has blocked the page",
        "type": error["type"],
    }
    assert not [value for value in PII if value in json.dumps(workflow(workflows)["steps"])]


def test_a_status_without_usage_or_error_stores_neither(workflows) -> None:
    record(workflows, "submitted")
    stored = workflow(workflows)["steps"][0]
    assert "usage" not in stored
    assert "status_error" not in stored


# -- callbacks ------------------------------------------------------------------------------------


@pytest.fixture
def published(table) -> list:
    """The events published; the workflow has a callback URL (else nothing is published)."""
    table.update_item(
        Key={"pk": f"WORKFLOW#{DISPATCH_UUID}"},
        UpdateExpression="SET callback_url = :url",
        ExpressionAttributeValues={":url": "https://example.com/callbacks"},
    )
    return []


def record_publishing(workflows, published: list, status: str, **options) -> RecordResult:
    return record_message_status(
        webhook(status, **options), workflows=workflows, publish=published.append, now=lambda: NOW
    )


def test_each_stored_status_is_published_once_and_the_deciding_one_is_followed_by_the_report(
    workflows, published
):
    for status in ("submitted", "delivered", "read"):
        record_publishing(workflows, published, status)

    assert [(e.kind, e.status) for e in published] == [
        ("message_status", "submitted"),
        ("message_status", "delivered"),
        ("message_status", "read"),
        ("final_report", None),
    ]
    assert published[0].event_id == f"{DISPATCH_UUID}:0:submitted"
    # The report names its workflow (the queue groups and de-duplicates by these).
    assert (published[-1].dispatch_uuid, published[-1].event_id) == (DISPATCH_UUID, f"{DISPATCH_UUID}:final")


def test_out_of_order_statuses_publish_only_forward_moves_and_a_redelivered_one_again(workflows, published):
    record_publishing(workflows, published, "delivered")
    record_publishing(workflows, published, "submitted")  # late: not stored, not published
    record_publishing(workflows, published, "delivered")  # redelivered: published again (same event id)

    assert [e.event_id for e in published] == [f"{DISPATCH_UUID}:0:delivered"] * 2


def test_no_callback_url_publishes_only_the_final_report_where_the_outcome_is_counted(workflows):
    published: list = []
    record_publishing(workflows, published, "delivered")  # short of the condition (read)
    record_publishing(workflows, published, "read")
    assert [(e.kind, e.dispatch_uuid) for e in published] == [("final_report", DISPATCH_UUID)]
    assert workflow(workflows)["status"] == "completed"


def test_a_late_status_after_a_failover_publishes_no_final_report(
    workflows, published, fail_over_from_first_step
):
    fail_over_from_first_step()

    record_publishing(workflows, published, "read")  # step 0 read after its expiry

    assert [e.kind for e in published] == ["message_status"]
    assert workflow(workflows)["status"] == "in_progress"


# -- waking the execution (the ring) ----------------------------------------------------------------

TOKEN = "AQB8AAAAKgAAAAMAAAAAAAAAAc-token-of-step-"


class Bell:
    """A stand-in for the Step Functions adapter: records every ring."""

    def __init__(self) -> None:
        self.rings: list[tuple[str, str, str]] = []

    def __call__(self, task_token: str, error: Wake, cause: str) -> None:
        self.rings.append((task_token, str(error), cause))


def waiting_on(workflows, step_index: int) -> str:
    """The state machine's "Wait for a deciding status" stored its token for step `step_index`."""
    token = f"{TOKEN}{step_index}"
    assert wait_for_status(workflows._table, DISPATCH_UUID, step_index, token)
    return token


def record_ringing(workflows, bell: Bell, status: str, **options) -> RecordResult:
    return record_message_status(webhook(status, **options), workflows=workflows, ring=bell, now=lambda: NOW)


def test_the_status_that_meets_the_condition_wakes_the_execution_once_and_takes_the_token(workflows):
    bell = Bell()
    token = waiting_on(workflows, 0)

    for status in ("submitted", "delivered", "read"):
        record_ringing(workflows, bell, status)

    assert bell.rings == [(token, "Step.WorkflowEnded", "completed: read")]
    assert "task_token" not in workflow(workflows)  # used once, then gone


@pytest.mark.parametrize("failure", ["rejected", "undeliverable"])
def test_a_failed_message_wakes_the_execution_to_fail_over_now(workflows, failure):
    bell = Bell()
    token = waiting_on(workflows, 0)

    record_ringing(workflows, bell, failure)

    assert bell.rings == [(token, "Step.MessageFailed", failure)]
    assert workflow(workflows)["steps"][0]["outcome"] == failure


@pytest.mark.parametrize(
    ("status", "cause"),
    [
        ("delivered", "completed: delivered"),
        ("rejected", "error: rejected"),
        ("undeliverable", "error: undeliverable"),
    ],
)
def test_the_last_steps_final_status_wakes_the_execution_to_end(
    workflows, fail_over_from_first_step, status, cause
):
    bell = Bell()
    fail_over_from_first_step()
    token = waiting_on(workflows, 1)

    record_ringing(workflows, bell, status, step=1)

    assert bell.rings == [(token, "Step.WorkflowEnded", cause)]


@pytest.mark.parametrize("status", ["read", "rejected"])
def test_a_repeated_deciding_status_rings_no_more(workflows, status):
    bell = Bell()
    waiting_on(workflows, 0)
    record_ringing(workflows, bell, status)

    record_ringing(workflows, bell, status)  # the Messages API delivers it again
    record_ringing(workflows, bell, status, second=9)

    assert len(bell.rings) == 1


@pytest.mark.parametrize("status", ["read", "rejected"])
def test_a_status_for_a_step_already_failed_over_rings_nothing(workflows, fail_over_from_first_step, status):
    # Given step 0 expired: the state machine failed over and now waits on step 1
    bell = Bell()
    waiting_on(workflows, 0)
    fail_over_from_first_step()
    step_1_token = waiting_on(workflows, 1)
    # When step 0's deciding status arrives late
    record_ringing(workflows, bell, status)
    # Then nothing rings, and step 1's wait keeps its token
    assert bell.rings == []
    assert workflow(workflows)["task_token"] == step_1_token


def test_a_decision_before_the_execution_stored_its_token_rings_nothing(workflows):
    # Given the read arrives before the state machine began waiting on step 0
    bell = Bell()
    record_ringing(workflows, bell, "read")
    # Then there is no token to ring, and the token the state machine tries to store is refused
    # (its conditional write fails: the wait ends at once)
    assert bell.rings == []
    assert not wait_for_status(workflows._table, DISPATCH_UUID, 0, f"{TOKEN}0")


def test_a_status_short_of_a_decision_rings_nothing(workflows):
    bell = Bell()
    waiting_on(workflows, 0)

    record_ringing(workflows, bell, "submitted")
    record_ringing(workflows, bell, "delivered")

    assert bell.rings == []
    assert workflow(workflows)["task_token"] == f"{TOKEN}0"


def test_a_token_stored_for_another_step_is_never_rung(workflows, table):
    # Given (against every write's intent) a token that belongs to step 1 sits on the item
    bell = Bell()
    table.update_item(
        Key={"pk": f"WORKFLOW#{DISPATCH_UUID}"},
        UpdateExpression="SET task_token = :token, task_token_step = :step",
        ExpressionAttributeValues={":token": f"{TOKEN}1", ":step": 1},
    )
    # When step 0 is decided
    record_ringing(workflows, bell, "read")
    # Then that token is not rung for it
    assert bell.rings == []
