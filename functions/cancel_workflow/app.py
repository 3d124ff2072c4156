"""DELETE /v0.1/workflows/{dispatch_uuid}: cancel a running workflow of the calling account."""

from dispatch.api.resolver import json_response, new_resolver, owned_workflow
from dispatch.api.views import workflow_view
from dispatch.aws import client, dynamodb_table
from dispatch.domain.workflows import cancel_workflow
from dispatch.integrations.callback_events import CallbackQueue, final_report_event
from dispatch.integrations.executions import StepFunctionsExecutions
from dispatch.observability import logger, metrics, tracer
from dispatch.settings import CancelWorkflowSettings
from dispatch.storage.workflow_repository import WorkflowRepository

settings = CancelWorkflowSettings.from_environ()
workflows = WorkflowRepository(dynamodb_table(settings.table_name))
executions = StepFunctionsExecutions(client("stepfunctions"), settings.state_machine_arn)
callbacks = CallbackQueue(client("sqs"), settings.callback_queue_url)
app = new_resolver()


@app.delete("/v0.1/workflows/<dispatch_uuid>")
@tracer.capture_method
def handle_cancel_workflow(dispatch_uuid: str):
    item = cancel_workflow(
        owned_workflow(app, workflows, dispatch_uuid), workflows=workflows, executions=executions
    )
    # Also on a repeated cancel: the queue drops duplicates, the receiver has the event id. Also
    # without a callback URL: the final report is where the outcome is counted (WorkflowsCancelled).
    callbacks.publish(final_report_event(dispatch_uuid))
    logger.info("Workflow cancelled", extra={"dispatch_uuid": dispatch_uuid})
    return json_response(200, workflow_view(item))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
