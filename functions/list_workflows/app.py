"""GET /v0.1/workflows: the calling account's workflows, newest first, with an opaque cursor."""

import os

import boto3

from dispatch.api.resolver import caller_account_id, decode_cursor, json_response, new_resolver
from dispatch.api.views import workflow_page
from dispatch.domain.errors import InvalidQuery
from dispatch.domain.statuses import WorkflowStatus
from dispatch.domain.workflows import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, list_workflows
from dispatch.observability import logger, metrics, tracer
from dispatch.storage.workflow_repository import WorkflowRepository, account_workflows_key

workflows = WorkflowRepository(boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]))
app = new_resolver()


@app.get("/v0.1/workflows")
@tracer.capture_method
def handle_list_workflows():
    account_id = caller_account_id(app)
    status, page_size, cursor = _query_parameters(account_id)
    items, next_key = list_workflows(
        lambda limit, start: workflows.list_for_account(
            account_id, status=status, limit=limit, start_key=start
        ),
        page_size=page_size,
        cursor=cursor,
    )
    return json_response(200, workflow_page(items, page_size=page_size, status=status, next_key=next_key))


def _query_parameters(account_id: str) -> tuple[str | None, int, dict | None]:
    params = app.current_event.query_string_parameters or {}
    invalid: list[tuple[str, str]] = []
    status = params.get("status") or None
    if status is not None and status not in set(WorkflowStatus):
        invalid.append(("status", f"must be one of {', '.join(WorkflowStatus)}"))
    page_size = DEFAULT_PAGE_SIZE
    if "page_size" in params:
        raw = params["page_size"]
        page_size = int(raw) if raw.isascii() and raw.isdigit() else 0
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            invalid.append(("page_size", f"must be an integer from 1 to {MAX_PAGE_SIZE}"))
    cursor = None
    if params.get("cursor"):
        try:
            cursor = decode_cursor(params["cursor"])
        except ValueError:
            cursor = {}
        # A cursor only continues this account's listing.
        if cursor.get("gsi1pk") != account_workflows_key(account_id):
            invalid.append(("cursor", "is not a cursor of this listing"))
    if invalid:
        raise InvalidQuery(invalid)
    return status, page_size, cursor


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
