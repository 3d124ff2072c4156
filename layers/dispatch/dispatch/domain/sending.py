"""Sending one step's message: at most once, whatever retries Lambda or Step Functions make."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from dispatch.clock import iso, utc_now
from dispatch.domain.errors import WorkflowNotFound
from dispatch.domain.ports import Clock, MessageSender, WorkflowStore
from dispatch.domain.statuses import WorkflowStatus, client_ref
from dispatch.domain.translate import to_messages_request
from dispatch.observability import logger

MAX_DISPATCH_UUID_LENGTH = 64


class InvalidTaskInput(ValueError):
    """A send task's input that is not a workflow's id and a step index (the task fails with
    this error type; its message names the fields, never their values)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{name} {reason}" for name, reason in errors))


class SendTask(NamedTuple):
    """The task input the state machine passes: ids only (statemachine/workflow.asl.json)."""

    dispatch_uuid: str
    step_index: int

    @classmethod
    def from_input(cls, task: Any) -> SendTask:
        """The task; InvalidTaskInput naming each field that is missing or malformed (other
        fields, such as the execution's `last_step_index`, are ignored)."""
        task = task if isinstance(task, dict) else {}
        errors: list[tuple[str, str]] = []
        dispatch_uuid, step_index = task.get("dispatch_uuid"), task.get("step_index")
        if not isinstance(dispatch_uuid, str) or not 1 <= len(dispatch_uuid) <= MAX_DISPATCH_UUID_LENGTH:
            errors.append(
                ("dispatch_uuid", f"must be a string of 1 to {MAX_DISPATCH_UUID_LENGTH} characters")
            )
        if type(step_index) is not int or step_index < 0:
            errors.append(("step_index", "must be a whole number of at least 0"))
        if errors:
            raise InvalidTaskInput(errors)
        return cls(dispatch_uuid, step_index)


class SendOutcome(NamedTuple):
    """What the state machine needs to go on: no message content, no recipient. `provider`
    says what the Messages API did with this attempt, for metrics: "accepted", "refused" (a
    final 4xx), "error" (5xx, 429 or no connection after the retries, or no answer in time), or
    None when nothing was sent now (sent before, or the workflow is over)."""

    accepted: bool
    wait_seconds: int
    message_uuid: str | None = None
    provider: str | None = None

    def as_task_output(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "wait_seconds": self.wait_seconds,
            "message_uuid": self.message_uuid,
        }


def send_step(
    dispatch_uuid: str,
    step_index: int,
    *,
    workflows: WorkflowStore,
    messages_api: Callable[[], MessageSender],
    final_status_timeout: int,
    now: Clock = utc_now,
) -> SendOutcome:
    """Send step `step_index` of the workflow unless an earlier attempt already did.

    The attempt is recorded with a conditional write before the provider is called; a retried
    invocation finds it and reuses the stored result instead of sending again.
    """
    workflow = workflows.get(dispatch_uuid)
    if workflow is None:
        raise WorkflowNotFound(dispatch_uuid)
    step = workflow["steps"][step_index]
    # The last step has no expiry: it waits for a final status, up to the final-status timeout.
    wait_seconds = int(step.get("expiry_time") or final_status_timeout)

    if workflow["status"] != WorkflowStatus.IN_PROGRESS:
        return SendOutcome(accepted=True, wait_seconds=0, message_uuid=step.get("message_uuid"))

    if not workflows.claim_send(dispatch_uuid, step_index, iso(now())):
        # An earlier attempt, or a cancel since our read: look again rather than guess.
        workflow = workflows.get(dispatch_uuid) or workflow
        step = workflow["steps"][step_index]
        if workflow["status"] != WorkflowStatus.IN_PROGRESS:
            return SendOutcome(accepted=True, wait_seconds=0, message_uuid=step.get("message_uuid"))
        send_state = step.get("send_state", "sending")
        logger.info("Send already attempted; not sending again", extra={"send_state": send_state})
        if send_state == "failed":
            return SendOutcome(accepted=False, wait_seconds=0)
        return SendOutcome(accepted=True, wait_seconds=wait_seconds, message_uuid=step.get("message_uuid"))

    request = to_messages_request(
        json.loads(workflow["messages"][step_index]),
        client_ref=client_ref(dispatch_uuid, step_index),
        webhook_url=workflow.get("status_webhook_url"),
    )
    result = messages_api().send(request)

    if result.accepted:
        if result.message_uuid:
            workflows.record_send_accepted(
                dispatch_uuid, step_index, result.message_uuid, iso(now()), expires_at=workflow["expires_at"]
            )
        return SendOutcome(
            accepted=True, wait_seconds=wait_seconds, message_uuid=result.message_uuid, provider="accepted"
        )
    if result.unknown:
        # It may have gone out: wait for its statuses (they find the step by client_ref).
        logger.warning("Send outcome unknown; waiting for statuses", extra={"error": result.error})
        return SendOutcome(accepted=True, wait_seconds=wait_seconds, provider="error")
    workflows.record_send_failed(dispatch_uuid, step_index, result.error, iso(now()))
    logger.info("Send refused; failing over at once", extra={"error": result.error})
    return SendOutcome(accepted=False, wait_seconds=0, provider=_failure_kind(result.error))


def _failure_kind(error: Mapping[str, Any]) -> str:
    """ "refused" for a final 4xx answer (this message, or our credentials), "error" when the
    provider could not take it (5xx, 429 or no connection, after the client's retries)."""
    status = error.get("http_status")
    if isinstance(status, int) and 400 <= status < 500 and status != 429:
        return "refused"
    return "error"
