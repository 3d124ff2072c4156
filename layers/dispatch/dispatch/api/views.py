"""What the API shows of a workflow item: the bodies of GET, DELETE and the listing, shaped by
the response models of dispatch.api.schemas (never message content, addresses or internals)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from dispatch.api.queries import encode_cursor
from dispatch.api.schemas import StepView, WorkflowPage, WorkflowSummary, WorkflowView
from dispatch.clock import iso

# What the API shows of a step: exactly the fields of its response model (no internals, no PII).
_STEP_FIELDS = tuple(name for name in StepView.model_fields if name != "index")
_SUMMARY_FIELDS = tuple(name for name in WorkflowSummary.model_fields if name != "links")


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
    items: list[dict[str, Any]], *, page_size: int, status: str | None, next_key: dict[str, Any] | None
) -> dict[str, Any]:
    """A page of the listing, with the link to the next page while more follow."""
    query: dict[str, Any] = {"page_size": page_size, **({"status": status} if status else {})}
    links: dict[str, Any] = {"self": {"href": f"/v0.1/workflows?{urlencode(query)}"}}
    if next_key:
        links["next"] = {"href": f"/v0.1/workflows?{urlencode({**query, 'cursor': encode_cursor(next_key)})}"}
    summaries = [workflow_summary(item) for item in items]
    return WorkflowPage.model_validate(
        {"page_size": page_size, "workflows": summaries, "_links": links}
    ).body()


def _normalized(key: str, value: Any) -> Any:
    """Timestamps written by the state machine ($$.State.EnteredTime) in the API's one format."""
    if key.endswith("_at") and isinstance(value, str):
        return iso(datetime.fromisoformat(value))
    return value
