"""One message of a workflow, found by its `message_uuid` (`GET /v0.1/messages/{message_uuid}`,
the `href` of the final report's messages)."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from dispatch.api.schemas import MessageView
from dispatch.domain.status_errors import reported_error
from dispatch.domain.workflows import normalized_timestamp

_STEP_FIELDS = ("channel", "content_type", "sent_at", "status", "status_at", "usage", "outcome", "outcome_at")


class MessageIndex(Protocol):
    def find_step_by_message_uuid(self, message_uuid: str) -> tuple[str, int] | None: ...

    def get(self, dispatch_uuid: str) -> dict[str, Any] | None: ...


def find_message(
    workflows: MessageIndex, message_uuid: str, *, account_id: str
) -> tuple[dict[str, Any], int] | None:
    """(workflow item, step index) of the account's message `message_uuid`; None when there is
    no such message, or it is another account's (as missing as a made-up id)."""
    if not _is_uuid(message_uuid):
        return None
    located = workflows.find_step_by_message_uuid(message_uuid)
    if located is None:
        return None
    dispatch_uuid, step_index = located
    workflow = workflows.get(dispatch_uuid)
    if workflow is None or workflow["account_id"] != account_id or step_index >= len(workflow["steps"]):
        return None
    if workflow["steps"][step_index].get("message_uuid") != message_uuid:
        return None
    return workflow, step_index


def message_view(workflow: dict[str, Any], step_index: int) -> dict[str, Any]:
    """The message's state, as `dispatch.api.schemas.MessageView` shapes it (no content, no
    addresses)."""
    step = workflow["steps"][step_index]
    dispatch_uuid = workflow["dispatch_uuid"]
    view: dict[str, Any] = {
        "message_uuid": step["message_uuid"],
        "dispatch_uuid": dispatch_uuid,
        "step": step_index,
        **{key: normalized_timestamp(key, step[key]) for key in _STEP_FIELDS if key in step},
        "_links": {
            "self": {"href": f"/v0.1/messages/{step['message_uuid']}"},
            "workflow": {"href": f"/v0.1/workflows/{dispatch_uuid}"},
        },
    }
    if step.get("status_error"):
        view["error"] = reported_error(step["status_error"], step.get("status"))
    return MessageView.model_validate(view).body()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36
