"""The events producers put on the callback queue (see dispatch.integrations.callbacks).

The status webhook, the state machine's final report, cancel and the reconciler enqueue these;
only the delivery function builds and POSTs the bodies. Events hold ids and statuses only (no
PII). No models: the producers include the hot path (every status webhook), which imports
nothing it does not use.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple

from dispatch.domain.statuses import WorkflowStatus

FINAL_STATUSES = frozenset({WorkflowStatus.COMPLETED, WorkflowStatus.ERROR, WorkflowStatus.CANCELLED})
EVENT_KINDS = ("message_status", "final_report")
_OPTIONAL_TEXT = ("status", "timestamp", "message_uuid")


class CallbackEvent(NamedTuple):
    """What producers enqueue: enough to build the callback later, nothing personal."""

    kind: Literal["message_status", "final_report"]
    event_id: str
    dispatch_uuid: str
    step_index: int | None = None
    status: str | None = None
    timestamp: str | None = None
    message_uuid: str | None = None

    def to_json(self) -> str:
        """The queue message's body (fields that are None left out)."""
        return json.dumps({k: v for k, v in self._asdict().items() if v is not None}, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> CallbackEvent:
        """An event from a queue message's body; ValueError when it is not one (unknown fields
        are ignored, so a newer producer's events still deliver)."""
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("a callback event is a JSON object")
        if data.get("kind") not in EVENT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(EVENT_KINDS)}")
        for name in ("event_id", "dispatch_uuid"):
            if not isinstance(data.get(name), str):
                raise ValueError(f"{name} must be a string")
        step_index = data.get("step_index")
        if step_index is not None and (type(step_index) is not int or step_index < 0):
            raise ValueError("step_index must be a whole number of at least 0")
        for name in _OPTIONAL_TEXT:
            if data.get(name) is not None and not isinstance(data[name], str):
                raise ValueError(f"{name} must be a string")
        return cls(
            kind=data["kind"],
            event_id=data["event_id"],
            dispatch_uuid=data["dispatch_uuid"],
            step_index=step_index,
            **{name: data.get(name) for name in _OPTIONAL_TEXT},
        )


def status_event(
    dispatch_uuid: str, step_index: int, *, status: str, timestamp: str, message_uuid: str
) -> CallbackEvent:
    return CallbackEvent(
        kind="message_status",
        event_id=f"{dispatch_uuid}:{step_index}:{status}",
        dispatch_uuid=dispatch_uuid,
        step_index=step_index,
        status=status,
        timestamp=timestamp,
        message_uuid=message_uuid,
    )


def final_report_event(dispatch_uuid: str) -> CallbackEvent:
    return CallbackEvent(kind="final_report", event_id=f"{dispatch_uuid}:final", dispatch_uuid=dispatch_uuid)


class CallbackQueue:
    """Puts events on the FIFO queue: one group per workflow, de-duplicated by event id."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def publish(self, event: CallbackEvent, *, reason: str | None = None) -> None:
        """Queue `event`; `reason` (as a message attribute) says why, on the dead-letter queue."""
        attributes = {"reason": {"DataType": "String", "StringValue": reason[:256]}} if reason else {}
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=event.to_json(),
            MessageGroupId=event.dispatch_uuid,
            MessageDeduplicationId=event.event_id,
            **({"MessageAttributes": attributes} if attributes else {}),
        )
