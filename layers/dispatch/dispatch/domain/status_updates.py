"""Recording the statuses the Messages API posts back, and deciding a step when one settles it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from dispatch.clock import iso, utc_now
from dispatch.domain.errors import InvalidStatusWebhook
from dispatch.domain.json_body import load_json
from dispatch.domain.ports import Clock, Publish, StepDecided, WorkflowStore
from dispatch.domain.status_errors import dispatch_error
from dispatch.domain.statuses import (
    MAX_CLIENT_REF_LENGTH,
    MessageStatus,
    RecordResult,
    decision_for,
    effective_condition,
    fails_over_at_once,
    is_status_of_step,
    parse_client_ref,
    rank,
)
from dispatch.integrations.callback_events import FINAL_STATUSES, final_report_event, status_event
from dispatch.observability import logger


class Wake(StrEnum):
    """The errors that end the state machine's wait on a decided step: its Parallel state
    catches them by name (statemachine/workflow.asl.json)."""

    WORKFLOW_ENDED = "Step.WorkflowEnded"  # condition met, or the last message's final status
    MESSAGE_FAILED = "Step.MessageFailed"  # rejected/undeliverable with a failover: fail over now


# ring(task_token, error, cause): hands the token back to Step Functions, ending the wait with
# `error`. Best effort: the adapter logs and swallows failures (DynamoDB decided, not the ring).
Ring = Callable[[str, Wake, str], object]


class StatusWebhook(NamedTuple):
    """A Messages API v1 status webhook (only the fields we use; others are ignored)."""

    message_uuid: str
    status: MessageStatus
    timestamp: datetime
    channel: str | None = None
    client_ref: str | None = None
    error: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None


# Bounds far above what the Messages API sends (a uuid, a channel name, its own 100-character
# client_ref limit, a few error and usage fields), so nothing unbounded reaches the table. The
# OpenAPI document declares the same rules (dispatch.api.schemas.StatusWebhook; a test compares
# the two on generated bodies).
MAX_MESSAGE_UUID_LENGTH = 100
MAX_CHANNEL_LENGTH = 50
MAX_OBJECT_FIELDS = 20
_STATUS_VALUES = frozenset(status.value for status in MessageStatus)
_STATUSES = ", ".join(status.value for status in MessageStatus)


def parse_status_webhook(body: bytes | str) -> StatusWebhook:
    """The status a (signed) webhook body carries; MalformedBody when it is not JSON,
    InvalidStatusWebhook naming every field that is not a status's.

    Hand-written rather than a pydantic model: this runs for every status of every message, and
    pydantic would be the largest import of the function's cold start (docs/performance.md)."""
    document = load_json(body)
    if not isinstance(document, dict):
        raise InvalidStatusWebhook([("body", "must be a JSON object")])
    errors: list[tuple[str, str]] = []

    def text(name: str, *, max_length: int, required: bool = False) -> str | None:
        if name not in document:
            if required:
                errors.append((name, "is required"))
            return None
        value, min_length = document[name], 1 if required else 0
        if value is None and not required:
            return None
        if not isinstance(value, str) or not min_length <= len(value) <= max_length:
            errors.append((name, f"must be a string of {min_length} to {max_length} characters"))
            return None
        return value

    def small_object(name: str) -> dict[str, Any] | None:
        value = document.get(name)
        if value is None:
            return None
        if not isinstance(value, dict) or len(value) > MAX_OBJECT_FIELDS:
            errors.append((name, f"must be an object of at most {MAX_OBJECT_FIELDS} fields"))
            return None
        return value

    message_uuid = text("message_uuid", max_length=MAX_MESSAGE_UUID_LENGTH, required=True)
    status = document.get("status")
    if "status" not in document:
        errors.append(("status", "is required"))
    elif not isinstance(status, str) or status not in _STATUS_VALUES:
        errors.append(("status", f"must be one of {_STATUSES}"))
    timestamp = _timestamp(document, errors)
    channel = text("channel", max_length=MAX_CHANNEL_LENGTH)
    client_ref = text("client_ref", max_length=MAX_CLIENT_REF_LENGTH)
    error = small_object("error")
    usage = small_object("usage")
    if errors:
        raise InvalidStatusWebhook(errors)
    assert message_uuid is not None and isinstance(status, str) and timestamp is not None
    return StatusWebhook(
        message_uuid=message_uuid,
        status=MessageStatus(status),
        timestamp=timestamp,
        channel=channel,
        client_ref=client_ref,
        error=error,
        usage=usage,
    )


def _timestamp(document: dict[str, Any], errors: list[tuple[str, str]]) -> datetime | None:
    """An ISO 8601 date and time with its UTC offset, as the Messages API sends it
    (`2025-01-02T03:04:05.000Z`)."""
    if "timestamp" not in document:
        errors.append(("timestamp", "is required"))
        return None
    value = document["timestamp"]
    parsed = None
    if isinstance(value, str):
        # Python reads a UTC designator only as "Z"; ISO 8601 (and pydantic) allow "z" too.
        with suppress(ValueError):
            parsed = datetime.fromisoformat(value[:-1] + "Z" if value.endswith("z") else value)
    if parsed is None or parsed.tzinfo is None or parsed.utcoffset() is None:
        errors.append(("timestamp", "must be an ISO 8601 date and time with its UTC offset"))
        return None
    return parsed


def record_message_status(
    webhook: StatusWebhook,
    *,
    workflows: WorkflowStore,
    publish: Publish | None = None,
    ring: Ring | None = None,
    now: Clock = utc_now,
) -> RecordResult:
    """Store the status on its step (only ever moving forward) and, if it decides the step, say
    so with a conditional write: the workflow ends (completed, or error for a failed last
    message), or the failed message's step fails over now. Then wake the execution waiting on
    that step, if our write decided it."""
    located = parse_client_ref(webhook.client_ref) or workflows.find_step_by_message_uuid(
        webhook.message_uuid
    )
    if located is None:
        return RecordResult.UNKNOWN_MESSAGE
    dispatch_uuid, step_index = located
    workflow = workflows.get(dispatch_uuid)
    if workflow is None or step_index >= len(workflow["steps"]):
        return RecordResult.UNKNOWN_MESSAGE
    if not is_status_of_step(workflow["steps"][step_index], webhook.message_uuid):
        return RecordResult.UNKNOWN_MESSAGE  # never stored against a step that was not sent as it

    extra: dict[str, Any] = {}
    if webhook.usage:
        extra["usage"] = {
            key: str(value) for key, value in webhook.usage.items() if key in ("currency", "price")
        }
    if webhook.error:
        # Dispatch's {code, reason}; never the recipient (see dispatch_error).
        extra["status_error"] = dispatch_error(webhook.error)
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
    publish_status = publish if workflow.get("callback_url") else None
    if publish_status and (stored or step.get("status") == webhook.status.value):
        publish_status(
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
        None
        if settled is None
        else decision_for(
            settled, condition_status=effective_condition(step.get("condition_status"), step.get("channel"))
        )
    )
    if settled is not None and decision is not None:
        workflow_status, outcome = decision
        # Conditional: a no-op when the state machine already failed over from this step.
        decided = workflows.decide_step(
            dispatch_uuid, step_index, workflow_status=workflow_status, outcome=outcome, now=iso(now())
        )
        if decided:
            logger.info("Workflow decided by a status", extra={"workflow_status": workflow_status})
        # With or without a callback URL: the final report is also where the workflow's
        # outcome is counted (the queue and the stored report make it once per workflow).
        if publish and (decided or workflow["status"] in FINAL_STATUSES):
            publish(final_report_event(dispatch_uuid))
        _wake(ring, decided, Wake.WORKFLOW_ENDED, cause=f"{workflow_status.value}: {settled.value}")
    elif settled is not None and (
        failed := fails_over_at_once(settled, condition_status=step.get("condition_status"))
    ):
        # Conditional: a no-op when the step was decided (or failed over from) already.
        failed_over = workflows.fail_step(dispatch_uuid, step_index, outcome=failed, now=iso(now()))
        if failed_over:
            logger.info("Message failed; failing over now", extra={"outcome": failed})
        _wake(ring, failed_over, Wake.MESSAGE_FAILED, cause=failed.value)
    return RecordResult.RECORDED if stored else RecordResult.IGNORED


def _wake(ring: Ring | None, decided: StepDecided | None, error: Wake, *, cause: str) -> None:
    """Only the write that decided the step rings, and only with the token it took: a late,
    repeated or stale status has nothing to send."""
    if ring is not None and decided is not None and decided.task_token:
        ring(decided.task_token, error, cause)


def _stored_status(step: dict[str, Any], *, at_least: MessageStatus) -> MessageStatus | None:
    """The step's status as read before our (refused) write, when it ranks at least as high as
    the incoming one: a retried webhook must still decide, but a late `read` must not override
    a stored `rejected`. None when a concurrent write stored something we have not seen (that
    writer decides)."""
    stored = step.get("status")
    if stored and rank(MessageStatus(stored)) >= rank(at_least):
        return MessageStatus(stored)
    return None
