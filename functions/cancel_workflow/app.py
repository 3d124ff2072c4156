"""DELETE /v0.1/workflows/{dispatch_uuid}: cancel a running workflow of the calling account."""

import contextlib
import os

from aws_lambda_powertools.metrics import MetricUnit

from dispatch.api.problems import conflict, service_unavailable
from dispatch.api.resolver import json_response, new_resolver, owned_workflow
from dispatch.aws import client, dynamodb_table
from dispatch.clock import iso, utc_now
from dispatch.domain.workflows import WorkflowFinished, cancel_workflow, workflow_view
from dispatch.integrations.callbacks import CallbackQueue, final_report_event
from dispatch.observability import logger, metrics, tracer
from dispatch.storage.workflow_repository import WorkflowRepository

STATE_MACHINE_ARN = os.environ["STATE_MACHINE_ARN"]
EXECUTION_ARN_PREFIX = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:")

workflows = WorkflowRepository(dynamodb_table(os.environ["TABLE_NAME"]))
stepfunctions = client("stepfunctions")
callbacks = CallbackQueue(client("sqs"), os.environ["CALLBACK_QUEUE_URL"])
app = new_resolver()


def stop_execution(dispatch_uuid: str) -> None:
    # An execution that never started, or is gone, has nothing left to stop.
    with contextlib.suppress(stepfunctions.exceptions.ExecutionDoesNotExist):
        stepfunctions.stop_execution(
            executionArn=f"{EXECUTION_ARN_PREFIX}:{dispatch_uuid}", cause="Cancelled through the API"
        )


@app.delete("/v0.1/workflows/<dispatch_uuid>")
@tracer.capture_method
def handle_cancel_workflow(dispatch_uuid: str):
    item = owned_workflow(app, workflows, dispatch_uuid)
    try:
        item = cancel_workflow(
            item,
            cancel=lambda uuid_, step: workflows.cancel(uuid_, step, iso(utc_now())),
            reload=lambda: workflows.get(dispatch_uuid),
            stop_execution=stop_execution,
        )
    except WorkflowFinished as finished:
        detail = f"The workflow has already ended ({finished.status}); it cannot be cancelled."
        raise conflict(detail) from None
    except TimeoutError:
        raise service_unavailable("The workflow was changing while we cancelled it; try again.") from None
    if item.get("callback_url"):
        # Also on a repeated cancel: the queue drops duplicates, the receiver has the event id.
        callbacks.publish(final_report_event(dispatch_uuid))
    logger.info("Workflow cancelled", extra={"dispatch_uuid": dispatch_uuid})
    metrics.add_metric(name="WorkflowsCancelled", unit=MetricUnit.Count, value=1)
    return json_response(200, workflow_view(item))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
