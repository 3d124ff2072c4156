"""One message of a workflow, found by its `message_uuid` (`GET /v0.1/messages/{message_uuid}`,
the `href` of the final report's messages)."""

from __future__ import annotations

import uuid
from typing import Any

from dispatch.domain.errors import MessageNotFound
from dispatch.domain.ports import WorkflowStore


def find_message(
    workflows: WorkflowStore, message_uuid: str, *, account_id: str
) -> tuple[dict[str, Any], int]:
    """(workflow item, step index) of the account's message `message_uuid`; MessageNotFound when
    there is no such message, or it is another account's (as missing as a made-up id)."""
    if not _is_uuid(message_uuid):
        raise MessageNotFound(message_uuid)
    located = workflows.find_step_by_message_uuid(message_uuid)
    if located is None:
        raise MessageNotFound(message_uuid)
    dispatch_uuid, step_index = located
    workflow = workflows.get(dispatch_uuid)
    if workflow is None or workflow["account_id"] != account_id or step_index >= len(workflow["steps"]):
        raise MessageNotFound(message_uuid)
    if workflow["steps"][step_index].get("message_uuid") != message_uuid:
        raise MessageNotFound(message_uuid)
    return workflow, step_index


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36
