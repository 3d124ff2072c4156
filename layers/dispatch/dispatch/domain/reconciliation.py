"""Nothing stuck: a workflow whose execution ended without ending it is ended here.

The state machine ends every workflow it runs, catches every task's failure, and reports the
outcome. What it cannot catch ends the execution itself: a failure it could not handle, a timeout,
someone stopping the execution by hand. Step Functions then emits an "Execution Status Change"
event; for FAILED, TIMED_OUT and ABORTED this ends the workflow in `error`, with the reason, and
queues its final report. A conditional write: a workflow that completed, was cancelled (our cancel
stops its execution: ABORTED) or already ended in error is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dispatch.clock import iso, utc_now
from dispatch.integrations.callback_events import CallbackEvent, final_report_event
from dispatch.observability import logger
from dispatch.storage.workflow_repository import WorkflowRepository

# Execution statuses that end an execution without the state machine having ended its workflow.
ABNORMAL_ENDS = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


MAX_EXECUTION_NAME_LENGTH = 80  # Step Functions' limit


class InvalidExecutionEvent(ValueError):
    """An event that is not a Step Functions execution status change (the invocation fails)."""


@dataclass(frozen=True)
class ExecutionStatusChange:
    """The `detail` of an EventBridge "Step Functions Execution Status Change" event (only the
    fields we use). The execution's name is the workflow's dispatch_uuid."""

    execution_arn: str
    state_machine_arn: str
    name: str
    status: str
    error: str | None = None


@dataclass(frozen=True)
class ExecutionStatusEvent:
    """The EventBridge envelope."""

    source: str
    detail_type: str
    detail: ExecutionStatusChange

    @classmethod
    def from_event(cls, event: Any) -> ExecutionStatusEvent:
        """The event as EventBridge delivers it (other fields ignored); InvalidExecutionEvent
        naming the first field that is missing or malformed."""
        envelope = _object(event, "event")
        detail = _object(envelope.get("detail"), "detail")
        name = _text(detail, "name", "detail.")
        if not 1 <= len(name) <= MAX_EXECUTION_NAME_LENGTH:
            raise InvalidExecutionEvent(f"detail.name must be 1 to {MAX_EXECUTION_NAME_LENGTH} characters")
        error = detail.get("error")
        if error is not None and not isinstance(error, str):
            raise InvalidExecutionEvent("detail.error must be a string")
        return cls(
            source=_text(envelope, "source"),
            detail_type=_text(envelope, "detail-type"),
            detail=ExecutionStatusChange(
                execution_arn=_text(detail, "executionArn", "detail."),
                state_machine_arn=_text(detail, "stateMachineArn", "detail."),
                name=name,
                status=_text(detail, "status", "detail."),
                error=error,
            ),
        )


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidExecutionEvent(f"{name} must be an object")
    return value


def _text(values: dict[str, Any], name: str, prefix: str = "") -> str:
    if not isinstance(values.get(name), str):
        raise InvalidExecutionEvent(f"{prefix}{name} must be a string")
    return values[name]


class Reconciled(StrEnum):
    ENDED_IN_ERROR = "ended_in_error"
    REPORTED_AGAIN = "reported_again"  # it had ended; its final report was queued once more
    ALREADY_ENDED = "already_ended"
    UNKNOWN_WORKFLOW = "unknown_workflow"
    IGNORED = "ignored"  # RUNNING, SUCCEEDED: nothing to reconcile


def error_reason(change: ExecutionStatusChange) -> str:
    """What GET and the final report say: the execution's status and its error's name (never its
    cause, whose free text may hold anything)."""
    reason = f"execution {change.status.lower().replace('_', ' ')}"
    return f"{reason} ({change.error})" if change.error else reason


def reconcile_execution(
    change: ExecutionStatusChange,
    *,
    workflows: WorkflowRepository,
    publish: Callable[[CallbackEvent], None],
    now: Callable = utc_now,
) -> Reconciled:
    if change.status not in ABNORMAL_ENDS:
        return Reconciled.IGNORED
    dispatch_uuid = change.name
    workflow = workflows.get(dispatch_uuid)
    if workflow is None:
        return Reconciled.UNKNOWN_WORKFLOW
    if workflows.end_in_error(dispatch_uuid, reason=error_reason(change), now=iso(now())):
        logger.warning(
            "Workflow ended in error after its execution ended",
            extra={"execution_status": change.status, "error": change.error},
        )
        if workflow.get("callback_url"):
            publish(final_report_event(dispatch_uuid))
        return Reconciled.ENDED_IN_ERROR
    if change.status != "ABORTED" and workflow.get("callback_url"):
        # A failed execution may have ended its workflow but not queued the report (the queue
        # refused it past retries). Queued again, it is dropped as a duplicate by its event id.
        publish(final_report_event(dispatch_uuid))
        return Reconciled.REPORTED_AGAIN
    return Reconciled.ALREADY_ENDED
