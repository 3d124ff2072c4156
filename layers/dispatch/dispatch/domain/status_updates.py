"""Recording the statuses the Messages API posts back, and deciding a step when one settles it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from dispatch.clock import iso, utc_now
from dispatch.domain.statuses import MessageStatus, RecordResult, decision_for, parse_client_ref, rank
from dispatch.integrations.callbacks import FINAL_STATUSES, CallbackEvent, final_report_event, status_event
from dispatch.observability import logger
from dispatch.storage.workflow_repository import WorkflowRepository


class StatusWebhook(BaseModel):
    """A Messages API v1 status webhook (only the fields we use; others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    message_uuid: str
    status: MessageStatus
    timestamp: AwareDatetime
    channel: str | None = None
    client_ref: str | None = None
    error: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None


def record_message_status(
    webhook: StatusWebhook,
    *,
    workflows: WorkflowRepository,
    publish: Callable[[CallbackEvent], None] | None = None,
    now: Callable = utc_now,
) -> RecordResult:
    """Store the status on its step (only ever moving forward) and, if it settles the step's
    condition, end the workflow at once: completed, or error for a failed last message."""
    located = parse_client_ref(webhook.client_ref) or workflows.find_step_by_message_uuid(
        webhook.message_uuid
    )
    if located is None:
        return RecordResult.UNKNOWN_MESSAGE
    dispatch_uuid, step_index = located
    workflow = workflows.get(dispatch_uuid)
    if workflow is None or step_index >= len(workflow["steps"]):
        return RecordResult.UNKNOWN_MESSAGE

    extra: dict[str, Any] = {}
    if webhook.usage:
        extra["usage"] = {
            key: str(value) for key, value in webhook.usage.items() if key in ("currency", "price")
        }
    if webhook.error:
        # Keep the kind of error, not its free text (which may quote the recipient).
        extra["status_error"] = {
            k: str(v) for k, v in webhook.error.items() if k in ("type", "title", "code")
        }
    stored = workflows.record_status(
        dispatch_uuid,
        step_index,
        status=webhook.status.value,
        rank=rank(webhook.status),
        status_at=iso(webhook.timestamp),
        message_uuid=webhook.message_uuid,
        extra=extra,
    )

    step = workflow["steps"][step_index]
    # Callbacks only for statuses stored (so they only move forward), and again for a redelivered
    # one (a crash may have come between storing it and publishing it).
    publish = publish if workflow.get("callback_url") else None
    if publish and (stored or step.get("status") == webhook.status.value):
        publish(
            status_event(
                dispatch_uuid,
                step_index,
                status=webhook.status.value,
                timestamp=iso(webhook.timestamp),
                message_uuid=webhook.message_uuid,
            )
        )
    settled = webhook.status if stored else _stored_status(step, at_least=webhook.status)
    decision = (
        None if settled is None else decision_for(settled, condition_status=step.get("condition_status"))
    )
    if decision is not None:
        workflow_status, outcome = decision
        # Conditional: a no-op when the state machine already failed over from this step.
        decided = workflows.decide_step(
            dispatch_uuid, step_index, workflow_status=workflow_status, outcome=outcome, now=iso(now())
        )
        if decided:
            logger.info("Workflow decided by a status", extra={"workflow_status": workflow_status})
        if publish and (decided or workflow["status"] in FINAL_STATUSES):
            publish(final_report_event(dispatch_uuid))
    return RecordResult.RECORDED if stored else RecordResult.IGNORED


def _stored_status(step: dict[str, Any], *, at_least: MessageStatus) -> MessageStatus | None:
    """The step's status as read before our (refused) write, when it ranks at least as high as
    the incoming one: a retried webhook must still decide, but a late `read` must not override
    a stored `rejected`. None when a concurrent write stored something we have not seen (that
    writer decides)."""
    stored = step.get("status")
    if stored and rank(MessageStatus(stored)) >= rank(at_least):
        return MessageStatus(stored)
    return None
