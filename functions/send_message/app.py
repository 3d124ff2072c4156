"""Step Functions task: send one step's message through the Messages API (at most once)."""

import os

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field

from dispatch.aws import dynamodb_table, get_secret
from dispatch.domain.sending import send_step
from dispatch.integrations.messages_api import MessagesApiClient
from dispatch.observability import logger, metrics, tracer
from dispatch.storage.workflow_repository import WorkflowRepository

MESSAGES_API_BASE_URL = os.environ["MESSAGES_API_BASE_URL"]
MESSAGES_API_SECRET_NAME = os.environ["MESSAGES_API_SECRET_NAME"]
FINAL_STATUS_TIMEOUT = int(os.environ.get("FINAL_STATUS_TIMEOUT_SECONDS", "86400"))

workflows = WorkflowRepository(dynamodb_table(os.environ["TABLE_NAME"]))


class SendTask(BaseModel):
    """The task input the state machine passes: ids only."""

    dispatch_uuid: str = Field(min_length=1, max_length=64)
    step_index: int = Field(ge=0)


def messages_api() -> MessagesApiClient:
    # Cached for 5 minutes: rotations are picked up without a redeploy.
    credentials = get_secret(MESSAGES_API_SECRET_NAME, transform="json", max_age=300)
    return MessagesApiClient(MESSAGES_API_BASE_URL, credentials["api_key"], credentials["api_secret"])


@logger.inject_lambda_context(correlation_id_path="dispatch_uuid")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    task = SendTask.model_validate(event)
    outcome = send_step(
        task.dispatch_uuid,
        task.step_index,
        workflows=workflows,
        messages_api=messages_api,
        final_status_timeout=FINAL_STATUS_TIMEOUT,
    )
    metrics.add_metric(
        name="MessagesAccepted" if outcome.accepted else "MessagesRefused", unit=MetricUnit.Count, value=1
    )
    return outcome.as_task_output()
