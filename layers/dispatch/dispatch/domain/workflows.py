"""Creating workflows and showing them: the API's view of the workflow item."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dispatch.api.schemas import StepView, WorkflowSummary, WorkflowView
from dispatch.clock import iso
from dispatch.domain.statuses import WorkflowStatus
from dispatch.storage.workflow_repository import account_workflows_key

if TYPE_CHECKING:
    # Only creating a workflow needs the request's models; showing, listing and cancelling do not.
    from dispatch.domain.workflow_request import WorkflowRequest


def new_workflow_item(
    request: WorkflowRequest,
    *,
    dispatch_uuid: str,
    account_id: str,
    status_webhook_url: str | None,
    created_at: datetime,
    retention: timedelta,
    callback_url: str | None = None,
) -> dict[str, Any]:
    """The DynamoDB item of a new workflow: PII only in `messages`, never in `steps`."""
    from dispatch.domain.workflow_request import step_summary  # loaded already: `request` is one

    now = iso(created_at)
    item: dict[str, Any] = {
        "pk": f"WORKFLOW#{dispatch_uuid}",
        "dispatch_uuid": dispatch_uuid,
        "account_id": account_id,
        "template": request.template,
        "status": WorkflowStatus.IN_PROGRESS.value,
        "current_step": 0,
        "created_at": now,
        "updated_at": now,
        "expires_at": int((created_at + retention).timestamp()),
        # The account's listing, newest first (see WorkflowRepository.list_for_account).
        "gsi1pk": account_workflows_key(account_id),
        "gsi1sk": f"{now}#{dispatch_uuid}",
        "steps": [
            {k: v for k, v in step_summary(step).items() if v is not None} for step in request.workflow
        ],
        # What to send, without the failover settings (those live in `steps`).
        "messages": [
            step.model_dump_json(by_alias=True, exclude_none=True, exclude={"failover"})
            for step in request.workflow
        ],
    }
    if status_webhook_url:
        item["status_webhook_url"] = status_webhook_url
    if callback_url:
        item["callback_url"] = callback_url
    return item


def execution_input(dispatch_uuid: str, steps_total: int) -> dict[str, Any]:
    """The state machine's input: ids and counts only, so execution history holds no PII."""
    return {"dispatch_uuid": dispatch_uuid, "step_index": 0, "last_step_index": steps_total - 1}


def create_workflow(
    request: WorkflowRequest,
    *,
    account_id: str,
    status_webhook_url: str | None,
    save: Callable[[dict[str, Any]], None],
    start_execution: Callable[[str, dict[str, Any]], None],
    now: datetime,
    retention: timedelta,
    default_callback_url: str | None = None,
) -> str:
    """Store the workflow, then start its execution (named by its dispatch_uuid). Callbacks go
    to the request's `callback`, else to the account's default callback URL, else nowhere."""
    dispatch_uuid = str(uuid.uuid4())
    item = new_workflow_item(
        request,
        dispatch_uuid=dispatch_uuid,
        account_id=account_id,
        status_webhook_url=status_webhook_url,
        created_at=now,
        retention=retention,
        callback_url=request.callback or default_callback_url,
    )
    save(item)
    start_execution(dispatch_uuid, execution_input(dispatch_uuid, len(request.workflow)))
    return dispatch_uuid


# What the API shows of a step: exactly the fields of its response model (no internals, no PII).
_STEP_FIELDS = tuple(name for name in StepView.model_fields if name != "index")


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


def _normalized(key: str, value: Any) -> Any:
    """Timestamps written by the state machine ($$.State.EnteredTime) in the API's one format."""
    if key.endswith("_at") and isinstance(value, str):
        return iso(datetime.fromisoformat(value))
    return value


class WorkflowFinished(Exception):
    """The workflow ended before it could be cancelled."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def cancel_workflow(
    item: dict[str, Any],
    *,
    cancel: Callable[[str, int], bool],
    reload: Callable[[], dict[str, Any] | None],
    stop_execution: Callable[[str], None],
) -> dict[str, Any]:
    """Cancel a workflow in progress and stop its execution; return the workflow as it ends.

    Idempotent: cancelling a cancelled workflow changes nothing. A workflow that completed or
    failed first raises WorkflowFinished. The cancel is a conditional write on the current step,
    so a failover that lands at the same moment is simply tried again on the new step.
    """
    for _ in range(5):
        if item["status"] == WorkflowStatus.CANCELLED:
            # Stopped again on a repeat, in case an earlier cancel could not stop it.
            stop_execution(item["dispatch_uuid"])
            return item
        if item["status"] != WorkflowStatus.IN_PROGRESS:
            raise WorkflowFinished(item["status"])
        cancel(item["dispatch_uuid"], item["current_step"])
        item = reload() or item
    raise TimeoutError("the workflow kept moving; try again")


DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_SUMMARY_FIELDS = tuple(name for name in WorkflowSummary.model_fields if name != "links")


def list_workflows(
    query_page: Callable[[int, dict | None], tuple[list[dict[str, Any]], dict | None]],
    *,
    page_size: int,
    cursor: dict | None,
    max_queries: int = 5,
) -> tuple[list[dict[str, Any]], dict | None]:
    """Up to `page_size` workflow summaries, newest first, and the key to continue from.

    With a status filter a query page can come back short, so a few queries may be chained to
    fill the page (bounded: an account with few matches gets a short page and a cursor).
    """
    summaries: list[dict[str, Any]] = []
    for _ in range(max_queries):
        items, cursor = query_page(page_size - len(summaries), cursor)
        summaries += [_summary(item) for item in items]
        if cursor is None or len(summaries) >= page_size:
            break
    return summaries, cursor


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    summary = {key: _normalized(key, item[key]) for key in _SUMMARY_FIELDS if key in item}
    summary["_links"] = {"self": {"href": f"/v0.1/workflows/{item['dispatch_uuid']}"}}
    return WorkflowSummary.model_validate(summary).body()
