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
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from dispatch.clock import iso, utc_now
from dispatch.integrations.callback_events import CallbackEvent, final_report_event
from dispatch.observability import logger
from dispatch.storage.workflow_repository import WorkflowRepository

# Execution statuses that end an execution without the state machine having ended its workflow.
ABNORMAL_ENDS = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


class ExecutionStatusChange(BaseModel):
    """The `detail` of an EventBridge "Step Functions Execution Status Change" event (only the
    fields we use). The execution's name is the workflow's dispatch_uuid."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    execution_arn: str = Field(alias="executionArn")
    state_machine_arn: str = Field(alias="stateMachineArn")
    name: str = Field(min_length=1, max_length=80)
    status: str
    error: str | None = None


class ExecutionStatusEvent(BaseModel):
    """The EventBridge envelope."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: ExecutionStatusChange


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
