"""POST /webhooks/message-status: verify a signed Messages API status and record it."""

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters

from dispatch.api.resolver import json_response, new_resolver, request_body
from dispatch.api.schemas import StatusRecorded
from dispatch.domain.status_updates import parse_status_webhook, record_message_status
from dispatch.integrations.callbacks import CallbackQueue
from dispatch.integrations.signatures import verify_webhook
from dispatch.integrations.step_functions import ExecutionWaker
from dispatch.observability import logger, metrics, tracer
from dispatch.settings import StatusWebhookSettings
from dispatch.storage.workflow_repository import WorkflowRepository

settings = StatusWebhookSettings.from_environ()
workflows = WorkflowRepository(boto3.resource("dynamodb").Table(settings.table_name))
callbacks = CallbackQueue(boto3.client("sqs"), settings.callback_queue_url)
executions = ExecutionWaker(boto3.client("stepfunctions"))
app = new_resolver(authenticated=False)


@app.post("/webhooks/message-status")
@tracer.capture_method
def handle_message_status():
    body = request_body(app)
    authorization = app.current_event.headers.get("authorization")
    secret = parameters.get_secret(settings.webhook_signature_secret_name, max_age=300)
    verify_webhook(authorization, body, secret=secret, max_age_seconds=settings.webhook_max_age_seconds)
    webhook = parse_status_webhook(body)
    result = record_message_status(
        webhook, workflows=workflows, publish=callbacks.publish, ring=executions.ring
    )
    logger.info("Status received", extra={"status": webhook.status, "result": result})
    metrics.add_metric(name=f"Status_{webhook.status}", unit=MetricUnit.Count, value=1)
    return json_response(200, StatusRecorded(result=result).body())


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
