"""GET /v0.1/workflows/{dispatch_uuid}: a workflow of the calling account, step by step."""

from dispatch.api.resolver import json_response, new_resolver, owned_workflow
from dispatch.api.views import workflow_view
from dispatch.aws import dynamodb_table
from dispatch.observability import logger, metrics, tracer
from dispatch.settings import GetWorkflowSettings
from dispatch.storage.workflow_repository import WorkflowRepository

settings = GetWorkflowSettings.from_environ()
workflows = WorkflowRepository(dynamodb_table(settings.table_name))
app = new_resolver()


@app.get("/v0.1/workflows/<dispatch_uuid>")
@tracer.capture_method
def handle_get_workflow(dispatch_uuid: str):
    return json_response(200, workflow_view(owned_workflow(app, workflows, dispatch_uuid)))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
