"""What the API shows of a workflow item: the bodies of GET, DELETE and the listing, shaped by
the response models of dispatch.api.schemas (never message content, addresses or internals)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from dispatch.api.schemas import MessageView, StepView, WorkflowPage, WorkflowSummary, WorkflowView
from dispatch.clock import iso
from dispatch.domain.status_errors import reported_error

# What the API shows of a step: exactly the fields of its response model (no internals, no PII).
_STEP_FIELDS = tuple(name for name in StepView.model_fields if name != "index")
_SUMMARY_FIELDS = tuple(name for name in WorkflowSummary.model_fields if name != "links")
_MESSAGE_STEP_FIELDS = (
    "channel",
    "content_type",
    "sent_at",
    "status",
    "status_at",
    "usage",
    "outcome",
    "outcome_at",
)


def workflow_view(item: dict[str, Any]) -> dict[str, Any]:
    """The GET representation: status, times and each step's state (no message content), as
    `dispatch.api.schemas.WorkflowView` (the OpenAPI document's) shapes it."""
    dispatch_uuid = item["dispatch_uuid"]
    view: dict[str, Any] = {
        "dispatch_uuid": dispatch_uuid,
        "template": item["template"],
        "status": item["status"],
        "created_at": item["created_at"],
        "updated_at": _normalized("updated_at", item.get("updated_at", item["created_at"])),
    }
    if item.get("finished_at"):
        view["finished_at"] = _normalized("finished_at", item["finished_at"])
    if item.get("error_reason"):
        view["error_reason"] = item["error_reason"]
    view["current_step"] = item["current_step"]
    view["workflow"] = [
        {"index": index, **{key: _normalized(key, step[key]) for key in _STEP_FIELDS if key in step}}
        for index, step in enumerate(item["steps"])
    ]
    view["_links"] = {"self": {"href": f"/v0.1/workflows/{dispatch_uuid}"}}
    return WorkflowView.model_validate(view).body()


def workflow_summary(item: dict[str, Any]) -> dict[str, Any]:
    """A workflow in a listing: its state without its steps."""
    summary = {key: _normalized(key, item[key]) for key in _SUMMARY_FIELDS if key in item}
    summary["_links"] = {"self": {"href": f"/v0.1/workflows/{item['dispatch_uuid']}"}}
    return WorkflowSummary.model_validate(summary).body()


def workflow_page(
    items: list[dict[str, Any]], *, page_size: int, status: str | None, next_cursor: str | None
) -> dict[str, Any]:
    """A page of the listing, with the link to the next page (its signed cursor) while more follow."""
    query: dict[str, Any] = {"page_size": page_size, **({"status": status} if status else {})}
    links: dict[str, Any] = {"self": {"href": f"/v0.1/workflows?{urlencode(query)}"}}
    if next_cursor:
        links["next"] = {"href": f"/v0.1/workflows?{urlencode({**query, 'cursor': next_cursor})}"}
    summaries = [workflow_summary(item) for item in items]
    return WorkflowPage.model_validate(
        {"page_size": page_size, "workflows": summaries, "_links": links}
    ).body()


def message_view(workflow: dict[str, Any], step_index: int) -> dict[str, Any]:
    """`GET /v0.1/messages/{message_uuid}`: the message's state, as `dispatch.api.schemas.MessageView`
    shapes it (no content, no addresses)."""
    step = workflow["steps"][step_index]
    dispatch_uuid = workflow["dispatch_uuid"]
    view: dict[str, Any] = {
        "message_uuid": step["message_uuid"],
        "dispatch_uuid": dispatch_uuid,
        "step": step_index,
        **{key: _normalized(key, step[key]) for key in _MESSAGE_STEP_FIELDS if key in step},
        "_links": {
            "self": {"href": f"/v0.1/messages/{step['message_uuid']}"},
            "workflow": {"href": f"/v0.1/workflows/{dispatch_uuid}"},
        },
    }
    if step.get("status_error"):
        view["error"] = reported_error(step["status_error"], step.get("status"))
    return MessageView.model_validate(view).body()


def _normalized(key: str, value: Any) -> Any:
    """Timestamps written by the state machine ($$.State.EnteredTime) in the API's one format."""
    if key.endswith("_at") and isinstance(value, str):
        return iso(datetime.fromisoformat(value))
    return value
