"""GET /v0.1/messages/{message_uuid}: one message of the calling account's workflows, and its state."""

from dispatch.api.resolver import caller_account_id, json_response, new_resolver
from dispatch.api.views import message_view
from dispatch.aws import dynamodb_table
from dispatch.domain.messages import find_message
from dispatch.observability import logger, metrics, tracer
from dispatch.settings import GetMessageSettings
from dispatch.storage.workflow_repository import WorkflowRepository

settings = GetMessageSettings.from_environ()
workflows = WorkflowRepository(dynamodb_table(settings.table_name))
app = new_resolver()


@app.get("/v0.1/messages/<message_uuid>")
@tracer.capture_method
def handle_get_message(message_uuid: str):
    workflow, step_index = find_message(workflows, message_uuid, account_id=caller_account_id(app))
    return json_response(200, message_view(workflow, step_index))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
