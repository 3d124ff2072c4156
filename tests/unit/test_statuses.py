"""Status ranking and what a status decides for a step (dispatch.domain.statuses)."""

from __future__ import annotations

import pytest

from dispatch.domain.statuses import (
    TERMINAL,
    MessageStatus,
    StepOutcome,
    WorkflowStatus,
    decision_for,
    effective_condition,
    fails_over_at_once,
    is_status_of_step,
    meets_condition,
    rank,
)

SUBMITTED, DELIVERED, READ = MessageStatus.SUBMITTED, MessageStatus.DELIVERED, MessageStatus.READ
REJECTED, UNDELIVERABLE = MessageStatus.REJECTED, MessageStatus.UNDELIVERABLE
SUCCESSES = (SUBMITTED, DELIVERED, READ)
FAILURES = (REJECTED, UNDELIVERABLE)
COMPLETED = (WorkflowStatus.COMPLETED, StepOutcome.CONDITION_MET)


# -- rank --------------------------------------------------------------------------------------


def test_successes_rank_in_the_order_a_message_progresses() -> None:
    assert rank(SUBMITTED) < rank(DELIVERED) < rank(READ)


@pytest.mark.parametrize("success", (SUBMITTED, DELIVERED))
@pytest.mark.parametrize("failure", FAILURES)
def test_a_failure_ranks_above_every_success_short_of_read(failure, success) -> None:
    assert rank(failure) > rank(success)


@pytest.mark.parametrize("first", TERMINAL)
@pytest.mark.parametrize("late", list(MessageStatus))
def test_no_status_ranks_above_a_terminal_one_so_the_first_terminal_status_is_final(first, late) -> None:
    # A status is stored only over a lower rank: nothing replaces read, rejected or undeliverable.
    assert not rank(late) > rank(first)


def test_the_terminal_statuses_are_read_and_the_failures() -> None:
    assert {READ, REJECTED, UNDELIVERABLE} == TERMINAL


# -- effective_condition -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "channel", "effective"),
    [
        ("read", "sms", "delivered"),  # no read receipts: its highest status reaches `read`
        ("delivered", "sms", "delivered"),
        ("read", "messenger", "read"),
        ("read", "whatsapp", "read"),
        ("read", "viber_service_msg", "read"),
        (None, "sms", None),  # the last step
    ],
)
def test_read_is_reached_by_delivered_on_a_channel_without_read_receipts(condition, channel, effective):
    assert effective_condition(condition, channel) == effective
    if effective:
        assert meets_condition(DELIVERED, effective) is (effective == "delivered")


# -- is_status_of_step -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message_uuid", "belongs"),
    [
        ({}, "m-1", False),  # never sent
        ({"send_state": "sending"}, "m-1", True),  # the first status may beat the send's answer
        ({"send_state": "accepted", "message_uuid": "m-1"}, "m-1", True),
        ({"send_state": "accepted", "message_uuid": "m-1"}, "m-2", False),  # another message
    ],
)
def test_a_status_belongs_to_a_step_only_once_it_was_sent_as_that_message(step, message_uuid, belongs):
    assert is_status_of_step(step, message_uuid) is belongs


def test_every_status_has_a_rank() -> None:
    assert {status: isinstance(rank(status), int) for status in MessageStatus} == dict.fromkeys(
        MessageStatus, True
    )


# -- meets_condition ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "condition", "met"),
    [
        (SUBMITTED, "delivered", False),
        (DELIVERED, "delivered", True),
        (READ, "delivered", True),  # read implies delivered
        (SUBMITTED, "read", False),
        (DELIVERED, "read", False),
        (READ, "read", True),
    ],
)
def test_a_success_meets_a_condition_it_reaches_or_passes(status, condition, met) -> None:
    assert meets_condition(status, condition) is met


@pytest.mark.parametrize("condition", ["delivered", "read"])
@pytest.mark.parametrize("failure", FAILURES)
def test_a_failure_never_meets_a_condition_despite_its_higher_rank(failure, condition) -> None:
    assert meets_condition(failure, condition) is False


# -- decision_for: a step with a failover condition --------------------------------------------


@pytest.mark.parametrize(
    ("status", "condition", "decision"),
    [
        (READ, "read", COMPLETED),
        (DELIVERED, "read", None),
        (SUBMITTED, "read", None),
        (DELIVERED, "delivered", COMPLETED),
        (READ, "delivered", COMPLETED),
        (SUBMITTED, "delivered", None),
    ],
)
def test_a_step_with_a_condition_completes_the_workflow_only_when_the_condition_is_met(
    status, condition, decision
) -> None:
    assert decision_for(status, condition_status=condition) == decision


@pytest.mark.parametrize("condition", ["delivered", "read"])
@pytest.mark.parametrize("failure", FAILURES)
def test_a_failure_on_a_step_with_a_condition_does_not_end_the_workflow(failure, condition) -> None:
    # It fails over instead: the webhook must not end the workflow.
    assert decision_for(failure, condition_status=condition) is None


@pytest.mark.parametrize("condition", ["delivered", "read"])
@pytest.mark.parametrize("failure", FAILURES)
def test_a_failure_on_a_step_with_a_condition_fails_over_at_once_with_its_outcome(failure, condition) -> None:
    assert fails_over_at_once(failure, condition_status=condition) == StepOutcome(failure.value)


@pytest.mark.parametrize("condition", ["delivered", "read", None])
@pytest.mark.parametrize("success", SUCCESSES)
def test_no_success_fails_over(success, condition) -> None:
    assert fails_over_at_once(success, condition_status=condition) is None


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failure_on_the_last_step_does_not_fail_over_it_ends_the_workflow(failure) -> None:
    assert fails_over_at_once(failure, condition_status=None) is None
    assert decision_for(failure, condition_status=None) == (WorkflowStatus.ERROR, StepOutcome(failure.value))


# -- decision_for: the last step (no failover, so no condition) --------------------------------


@pytest.mark.parametrize(
    ("status", "decision"),
    [
        (DELIVERED, COMPLETED),
        (READ, COMPLETED),
        (REJECTED, (WorkflowStatus.ERROR, StepOutcome.REJECTED)),
        (UNDELIVERABLE, (WorkflowStatus.ERROR, StepOutcome.UNDELIVERABLE)),
        (SUBMITTED, None),
    ],
)
def test_the_last_step_is_decided_by_its_final_status(status, decision) -> None:
    assert decision_for(status, condition_status=None) == decision
