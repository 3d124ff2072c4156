"""Step Functions task: send one step's message through the Messages API (at most once)."""

from dispatch.aws import dynamodb_table, get_secret
from dispatch.domain.sending import SendTask, send_step
from dispatch.integrations.messages_api import MessagesApiClient
from dispatch.observability import Metric, count, logger, metrics, tracer
from dispatch.settings import SendMessageSettings
from dispatch.storage.workflow_repository import WorkflowRepository

PROVIDER_METRICS = {
    "accepted": Metric.MESSAGES_ACCEPTED,
    "refused": Metric.MESSAGES_REFUSED,
    "error": Metric.MESSAGE_PROVIDER_ERRORS,
}

settings = SendMessageSettings.from_environ()
workflows = WorkflowRepository(dynamodb_table(settings.table_name))


def messages_api() -> MessagesApiClient:
    # Cached by Powertools for 5 minutes: rotations are picked up without a redeploy.
    credentials = get_secret(settings.messages_api_secret_name, transform="json", max_age=300)
    return MessagesApiClient(
        settings.messages_api_base_url, credentials["api_key"], credentials["api_secret"]
    )


@logger.inject_lambda_context(correlation_id_path="dispatch_uuid")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    task = SendTask.from_input(event)
    outcome = send_step(
        task.dispatch_uuid,
        task.step_index,
        workflows=workflows,
        messages_api=messages_api,
        final_status_timeout=settings.final_status_timeout_seconds,
    )
    if outcome.provider in PROVIDER_METRICS:
        count(PROVIDER_METRICS[outcome.provider])
    return outcome.as_task_output()
