"""GET /v0.1/workflows: the calling account's workflows, newest first, with an opaque cursor."""

from dispatch.api.cursors import sign_cursor
from dispatch.api.queries import parse_list_query
from dispatch.api.resolver import caller_account_id, json_response, new_resolver
from dispatch.api.views import workflow_page
from dispatch.aws import dynamodb_table, get_secret
from dispatch.domain.workflows import list_workflows
from dispatch.observability import logger, metrics, tracer
from dispatch.settings import ListWorkflowsSettings
from dispatch.storage.workflow_repository import WorkflowRepository

settings = ListWorkflowsSettings.from_environ()
workflows = WorkflowRepository(dynamodb_table(settings.table_name))
app = new_resolver()


def cursor_key() -> bytes:
    # Signs the listing's cursors (a generated secret of the stack); cached by Powertools for 5 minutes.
    return get_secret(settings.cursor_secret_arn, max_age=300).encode()


@app.get("/v0.1/workflows")
@tracer.capture_method
def handle_list_workflows():
    account_id = caller_account_id(app)
    query = parse_list_query(
        app.current_event.query_string_parameters, account_id=account_id, cursor_key=cursor_key
    )
    items, next_key = list_workflows(
        lambda limit, start: workflows.list_for_account(
            account_id, status=query.status, limit=limit, start_key=start
        ),
        page_size=query.page_size,
        cursor=query.cursor,
        filtered=query.status is not None,
    )
    next_cursor = (
        sign_cursor(next_key, key=cursor_key(), account_id=account_id, status=query.status)
        if next_key
        else None
    )
    page = workflow_page(items, page_size=query.page_size, status=query.status, next_cursor=next_cursor)
    return json_response(200, page)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
