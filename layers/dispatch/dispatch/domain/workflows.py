"""Creating, cancelling and listing workflows (what the API shows of them: dispatch.api.views)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dispatch.clock import iso, utc_now
from dispatch.domain.errors import WorkflowBusy, WorkflowFinished, WorkflowNotStarted
from dispatch.domain.ports import AccountStore, Clock, Executions, WorkflowStore
from dispatch.domain.statuses import WorkflowStatus
from dispatch.storage.workflow_repository import account_workflows_key

if TYPE_CHECKING:
    # Only creating a workflow reads a create body; showing, listing and cancelling do not.
    from dispatch.domain.create_body import CreateBody


def new_workflow_item(
    request: CreateBody,
    *,
    dispatch_uuid: str,
    account_id: str,
    status_webhook_url: str | None,
    created_at: datetime,
    retention: timedelta,
    callback_url: str | None = None,
) -> dict[str, Any]:
    """The DynamoDB item of a new workflow: PII only in `messages`, never in `steps`."""
    from dispatch.domain.create_body import step_summary, stored_message  # loaded: `request` is one

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
        "messages": [stored_message(step) for step in request.workflow],
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
    request: CreateBody,
    *,
    account_id: str,
    status_webhook_url: str | None,
    workflows: WorkflowStore,
    executions: Executions,
    accounts: AccountStore,
    retention: timedelta,
    now: Clock = utc_now,
) -> str:
    """Store the workflow, then start its execution (named by its dispatch_uuid). Callbacks go
    to the request's `callback`, else to the account's default callback URL (read only when
    needed), else nowhere. When the execution cannot start (WorkflowNotStarted), the stored
    workflow is marked as failed before the error goes on: never in progress with nothing
    running it."""
    dispatch_uuid = str(uuid.uuid4())
    item = new_workflow_item(
        request,
        dispatch_uuid=dispatch_uuid,
        account_id=account_id,
        status_webhook_url=status_webhook_url,
        created_at=now(),
        retention=retention,
        callback_url=request.callback or (accounts.get_account(account_id) or {}).get("callback_url"),
    )
    workflows.create(item)
    try:
        executions.start(dispatch_uuid, execution_input(dispatch_uuid, len(request.workflow)))
    except WorkflowNotStarted:
        workflows.mark_start_failed(dispatch_uuid, iso(now()))
        raise
    return dispatch_uuid


def cancel_workflow(
    item: dict[str, Any],
    *,
    workflows: WorkflowStore,
    executions: Executions,
    now: Clock = utc_now,
) -> dict[str, Any]:
    """Cancel a workflow in progress and stop its execution; return the workflow as it ends.

    Idempotent: cancelling a cancelled workflow changes nothing. A workflow that completed or
    failed first raises WorkflowFinished (one that keeps moving, WorkflowBusy). The cancel is a
    conditional write on the current step, so a failover that lands at the same moment is
    simply tried again on the new step.
    """
    dispatch_uuid = item["dispatch_uuid"]
    for tries_left in range(5, -1, -1):
        if item["status"] == WorkflowStatus.CANCELLED:
            # Stopped again on a repeat, in case an earlier cancel could not stop it.
            executions.stop(dispatch_uuid)
            return item
        if item["status"] != WorkflowStatus.IN_PROGRESS:
            raise WorkflowFinished(item["status"])
        if not tries_left:  # (checked after the reload: the last try may have been the one)
            break
        workflows.cancel(dispatch_uuid, item["current_step"], iso(now()))
        item = workflows.get(dispatch_uuid) or item
    raise WorkflowBusy(dispatch_uuid)


DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


# One query of the account's listing: (at most `limit` items, the key to continue from).
QueryPage = Callable[[int, dict[str, Any] | None], tuple[list[dict[str, Any]], dict[str, Any] | None]]


def list_workflows(
    query_page: QueryPage,
    *,
    page_size: int,
    cursor: dict[str, Any] | None,
    max_queries: int = 5,
    filtered: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Up to `page_size` workflow items, newest first, and the key to continue from.

    With a status filter a query page can come back short, so a few queries may be chained to
    fill the page (bounded: an account with few matches gets a short page and a cursor). Filtered
    queries read ahead (a full MAX_PAGE_SIZE of index items each), so that a filter with few or no
    matches in a small account ends without a cursor instead of a `next` link to an empty page;
    what was read beyond the page is left for the next one, which starts after the last shown.
    """
    found: list[dict[str, Any]] = []
    for _ in range(max_queries):
        wanted = page_size - len(found)
        items, cursor = query_page(max(wanted, MAX_PAGE_SIZE) if filtered else wanted, cursor)
        if len(items) > wanted:
            items = items[:wanted]
            cursor = {key: items[-1][key] for key in ("pk", "gsi1pk", "gsi1sk")}
        found += items
        if cursor is None or len(found) >= page_size:
            break
    return found, cursor
