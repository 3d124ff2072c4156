"""EventBridge target: Step Functions execution status changes (FAILED, TIMED_OUT, ABORTED) of the
workflow state machine. Ends a workflow its execution left in progress, and reports it."""

import os

import boto3
from aws_lambda_powertools.metrics import MetricUnit

from dispatch.domain.reconciliation import ExecutionStatusEvent, reconcile_execution
from dispatch.integrations.callbacks import CallbackQueue
from dispatch.observability import logger, metrics, tracer
from dispatch.storage.workflow_repository import WorkflowRepository

workflows = WorkflowRepository(boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]))
callbacks = CallbackQueue(boto3.client("sqs"), os.environ["CALLBACK_QUEUE_URL"])


@logger.inject_lambda_context(correlation_id_path="detail.name")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    change = ExecutionStatusEvent.model_validate(event).detail
    result = reconcile_execution(change, workflows=workflows, publish=callbacks.publish)
    logger.info("Execution reconciled", extra={"execution_status": change.status, "result": result})
    metrics.add_metric(name=f"Reconciled_{result}", unit=MetricUnit.Count, value=1)
    return {"result": result}
