"""GET /v0.1/workflows: the calling account's workflows, newest first, with an opaque cursor."""

import os
from urllib.parse import urlencode

import boto3
from aws_lambda_powertools.utilities import parameters

from dispatch.api.cursors import InvalidCursor, open_cursor, sign_cursor
from dispatch.api.problems import invalid_parameters
from dispatch.api.resolver import caller_account_id, json_response, new_resolver
from dispatch.api.schemas import WorkflowPage
from dispatch.domain.statuses import WorkflowStatus
from dispatch.domain.workflows import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, list_workflows
from dispatch.observability import logger, metrics, tracer
from dispatch.storage.workflow_repository import WorkflowRepository

# Signs the listing's cursors (a generated secret of the stack; see template.yaml).
CURSOR_SECRET_ARN = os.environ["CURSOR_SECRET_ARN"]
# The longest page_size worth parsing: int() of thousands of digits is slow or refused outright.
_MAX_PAGE_SIZE_DIGITS = len(str(MAX_PAGE_SIZE))

workflows = WorkflowRepository(boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]))
app = new_resolver()


def cursor_key() -> bytes:
    # Cached by Powertools for 5 minutes.
    return parameters.get_secret(CURSOR_SECRET_ARN, max_age=300).encode()


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
        filtered=status is not None,
    )
    query = {"page_size": page_size, **({"status": status} if status else {})}
    links = {"self": {"href": f"/v0.1/workflows?{urlencode(query)}"}}
    if next_key:
        next_cursor = sign_cursor(next_key, key=cursor_key(), account_id=account_id, status=status)
        links["next"] = {"href": f"/v0.1/workflows?{urlencode({**query, 'cursor': next_cursor})}"}
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
        digits = raw.isascii() and raw.isdigit() and len(raw) <= _MAX_PAGE_SIZE_DIGITS
        page_size = int(raw) if digits else 0
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            invalid.append({"name": "page_size", "reason": f"must be an integer from 1 to {MAX_PAGE_SIZE}"})
    cursor = None
    if params.get("cursor"):
        # A cursor only continues the listing (account and status filter) that issued it.
        try:
            cursor = open_cursor(params["cursor"], key=cursor_key(), account_id=account_id, status=status)
        except InvalidCursor:
            invalid.append({"name": "cursor", "reason": "is not a cursor of this listing"})
    if invalid:
        raise invalid_parameters(invalid)
    return status, page_size, cursor


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
