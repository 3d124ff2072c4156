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


# Statuses only move forward: a status is stored only over a lower rank. The terminal statuses
# (`read`, and the failures) share the top rank, so the first one stored is final for its step:
# a late `rejected` never rewrites a `read`, nor a late `read` a `rejected`.
STATUS_RANK: dict[MessageStatus, int] = {
    MessageStatus.SUBMITTED: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 4,
    MessageStatus.REJECTED: 4,
    MessageStatus.UNDELIVERABLE: 4,
}

FAILURES = frozenset({MessageStatus.REJECTED, MessageStatus.UNDELIVERABLE})
TERMINAL = frozenset({MessageStatus.READ, *FAILURES})

# Channels without read receipts: their highest status is `delivered`, so on them a `read`
# condition (Vonage's own SMS-to-SMS example asks for one) is reached by `delivered`.
CHANNELS_WITHOUT_READ = frozenset({"sms"})


class WorkflowStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ERROR = "error"
    CANCELLED = "cancelled"


# What became of a status the Messages API posted: the status webhook's answer.
class RecordResult(StrEnum):
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


def effective_condition(condition_status: str | None, channel: str | None) -> str | None:
    """The condition a step's statuses are held to: `read` is `delivered` on a channel without
    read receipts (the step still shows the `read` it was created with)."""
    if condition_status == MessageStatus.READ and channel in CHANNELS_WITHOUT_READ:
        return MessageStatus.DELIVERED.value
    return condition_status


def is_status_of_step(step: dict, message_uuid: str | None) -> bool:
    """Whether a status of message `message_uuid` belongs to this step: the step was sent (a
    send attempt is recorded before the provider is called, so before any status), and not as
    another message."""
    if not step.get("send_state"):
        return False
    stored = step.get("message_uuid")
    return stored is None or message_uuid is None or stored == message_uuid


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


MAX_CLIENT_REF_LENGTH = 100  # the Messages API limit


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
