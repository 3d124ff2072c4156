"""EventBridge target: Step Functions execution status changes (FAILED, TIMED_OUT, ABORTED) of the
workflow state machine. Ends a workflow its execution left in progress, and reports it."""

from dispatch.aws import dynamodb_table, lazy_client
from dispatch.domain.reconciliation import ExecutionStatusEvent, Reconciled, reconcile_execution
from dispatch.integrations.callback_events import CallbackQueue
from dispatch.observability import Metric, count, logger, metrics, tracer
from dispatch.settings import ReconcileExecutionSettings
from dispatch.storage.workflow_repository import WorkflowRepository

settings = ReconcileExecutionSettings.from_environ()
workflows = WorkflowRepository(dynamodb_table(settings.table_name))
callbacks = CallbackQueue(lazy_client("sqs"), settings.callback_queue_url)  # made on first use


@logger.inject_lambda_context(correlation_id_path="detail.name")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    change = ExecutionStatusEvent.from_event(event).detail
    result = reconcile_execution(change, workflows=workflows, publish=callbacks.publish)
    logger.info("Execution reconciled", extra={"execution_status": change.status, "result": result})
    if result is Reconciled.ENDED_IN_ERROR:
        count(Metric.WORKFLOWS_RECONCILED)  # the stuck-workflows alarm
    return {"result": result}
