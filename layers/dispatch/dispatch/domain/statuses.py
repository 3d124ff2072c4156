"""Message statuses: their order, and what a status means for a step's failover condition."""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    READ = "read"
    REJECTED = "rejected"
    UNDELIVERABLE = "undeliverable"


# Statuses only move forward: a lower rank never overwrites a higher one. Failures rank above
# every success so that they are terminal for the step.
STATUS_RANK: dict[MessageStatus, int] = {
    MessageStatus.SUBMITTED: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
    MessageStatus.REJECTED: 4,
    MessageStatus.UNDELIVERABLE: 4,
}

FAILURES = frozenset({MessageStatus.REJECTED, MessageStatus.UNDELIVERABLE})


class WorkflowStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ERROR = "error"
    CANCELLED = "cancelled"


class StepOutcome(StrEnum):
    CONDITION_MET = "condition_met"
    EXPIRED = "expired"
    SEND_FAILED = "send_failed"
    REJECTED = "rejected"
    UNDELIVERABLE = "undeliverable"
    CANCELLED = "cancelled"


def rank(status: MessageStatus) -> int:
    return STATUS_RANK[status]


def meets_condition(status: MessageStatus, condition_status: str) -> bool:
    """Whether `status` satisfies a step's condition (`read` also satisfies `delivered`)."""
    if status in FAILURES:
        return False
    return rank(status) >= rank(MessageStatus(condition_status))


def decision_for(
    status: MessageStatus, *, condition_status: str | None
) -> tuple[WorkflowStatus, StepOutcome] | None:
    """What a status decides for the whole workflow at once, if anything.

    A step with a failover condition ends the workflow by reaching that condition (completed);
    its failures fail over instead (see `fails_over_at_once`). The last step (no failover) is
    decided by any final status: delivered/read completes, a failure is an error.
    """
    if condition_status is not None:
        if meets_condition(status, condition_status):
            return WorkflowStatus.COMPLETED, StepOutcome.CONDITION_MET
        return None
    if status in FAILURES:
        return WorkflowStatus.ERROR, StepOutcome(status.value)
    if meets_condition(status, MessageStatus.DELIVERED):
        return WorkflowStatus.COMPLETED, StepOutcome.CONDITION_MET
    return None


def fails_over_at_once(status: MessageStatus, *, condition_status: str | None) -> StepOutcome | None:
    """The outcome of a step whose message failed (`rejected`, `undeliverable`) while it has a
    failover: the step is decided and the next message goes now, not at the step's expiry."""
    if condition_status is not None and status in FAILURES:
        return StepOutcome(status.value)
    return None
