"""GET /v0.1/workflows: the calling account's workflows, newest first, with an opaque cursor."""

import os
from urllib.parse import urlencode

from dispatch.api.problems import invalid_parameters
from dispatch.api.resolver import caller_account_id, decode_cursor, encode_cursor, json_response, new_resolver
from dispatch.api.schemas import WorkflowPage
from dispatch.aws import dynamodb_table
from dispatch.domain.statuses import WorkflowStatus
from dispatch.domain.workflows import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, list_workflows
from dispatch.observability import logger, metrics, tracer
from dispatch.storage.workflow_repository import WorkflowRepository, account_workflows_key

workflows = WorkflowRepository(dynamodb_table(os.environ["TABLE_NAME"]))
app = new_resolver()


@app.get("/v0.1/workflows")
@tracer.capture_method
def handle_list_workflows():
    account_id = caller_account_id(app)
    status, page_size, cursor = _query_parameters(account_id)
    summaries, next_key = list_workflows(
        lambda limit, start: workflows.list_for_account(
            account_id, status=status, limit=limit, start_key=start
        ),
        page_size=page_size,
        cursor=cursor,
    )
    query = {"page_size": page_size, **({"status": status} if status else {})}
    links = {"self": {"href": f"/v0.1/workflows?{urlencode(query)}"}}
    if next_key:
        links["next"] = {"href": f"/v0.1/workflows?{urlencode({**query, 'cursor': encode_cursor(next_key)})}"}
    page = WorkflowPage.model_validate({"page_size": page_size, "workflows": summaries, "_links": links})
    return json_response(200, page.body())


def _query_parameters(account_id: str) -> tuple[str | None, int, dict | None]:
    params = app.current_event.query_string_parameters or {}
    invalid = []
    status = params.get("status") or None
    if status is not None and status not in set(WorkflowStatus):
        invalid.append({"name": "status", "reason": f"must be one of {', '.join(WorkflowStatus)}"})
    page_size = DEFAULT_PAGE_SIZE
    if "page_size" in params:
        raw = params["page_size"]
        page_size = int(raw) if raw.isascii() and raw.isdigit() else 0
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            invalid.append({"name": "page_size", "reason": f"must be an integer from 1 to {MAX_PAGE_SIZE}"})
    cursor = None
    if params.get("cursor"):
        try:
            cursor = decode_cursor(params["cursor"])
        except ValueError:
            cursor = {}
        # A cursor only continues this account's listing.
        if cursor.get("gsi1pk") != account_workflows_key(account_id):
            invalid.append({"name": "cursor", "reason": "is not a cursor of this listing"})
    if invalid:
        raise invalid_parameters(invalid)
    return status, page_size, cursor


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
