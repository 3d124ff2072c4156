"""Message statuses: their order, what a status means for a step's failover condition, and how a
status finds its step (the message's client_ref).

Imported by every function that reports statuses, so it stays free of models and clients."""

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


class RecordResult(StrEnum):
    """What recording a status webhook did."""

    RECORDED = "recorded"
    IGNORED = "ignored"  # a duplicate, or a status ranked below the one already stored
    UNKNOWN_MESSAGE = "unknown_message"


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
    """What a status decides for the workflow at once, if anything.

    A step with a failover condition is decided by reaching that condition (completed); its
    failures wait for the expiry, when the state machine fails over. The last step (no
    failover) is decided by any final status: delivered/read completes, a failure is an error.
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


def client_ref(dispatch_uuid: str, step_index: int) -> str:
    """Echoed by every status of the message, so statuses find their step even before the
    send's response is stored."""
    return f"{dispatch_uuid}:{step_index}"


def parse_client_ref(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    dispatch_uuid, separator, index = value.rpartition(":")
    if not separator or not dispatch_uuid or not index.isdigit():
        return None
    return dispatch_uuid, int(index)
