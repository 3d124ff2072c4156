"""POST /webhooks/message-status: verify a signed Messages API status and record it."""

from dispatch.api.resolver import json_response, new_resolver, request_body
from dispatch.aws import dynamodb_table, get_secret, lazy_client
from dispatch.clock import utc_now
from dispatch.domain.errors import InvalidSignature
from dispatch.domain.status_updates import parse_status_webhook, record_message_status
from dispatch.integrations.callback_events import CallbackQueue
from dispatch.integrations.signatures import parse_signature_secret, verify_webhook
from dispatch.integrations.step_functions import ExecutionWaker
from dispatch.observability import Metric, count, logger, metrics, tracer
from dispatch.settings import StatusWebhookSettings
from dispatch.storage.workflow_repository import WorkflowRepository

settings = StatusWebhookSettings.from_environ()
workflows = WorkflowRepository(dynamodb_table(settings.table_name))
# Made on first use: most statuses publish no callback and decide no step.
callbacks = CallbackQueue(lazy_client("sqs"), settings.callback_queue_url)
executions = ExecutionWaker(lazy_client("stepfunctions"))
app = new_resolver(authenticated=False)


@app.post("/webhooks/message-status")
@tracer.capture_method
def handle_message_status():
    body = request_body(app)
    authorization = app.current_event.headers.get("authorization")
    # During a rotation the stored value holds the previous secret too (see SignatureSecrets).
    secrets = parse_signature_secret(get_secret(settings.webhook_signature_secret_name, max_age=300))
    try:
        verify_webhook(
            authorization,
            body,
            secret=secrets.accepted(utc_now()),
            max_age_seconds=settings.webhook_max_age_seconds,
        )
    except InvalidSignature:
        # Counted for the refused-webhooks alarm (a wrong secret); the resolver maps it to a 401.
        count(Metric.STATUS_WEBHOOKS_REFUSED)
        raise
    webhook = parse_status_webhook(body)
    result = record_message_status(
        webhook, workflows=workflows, publish=callbacks.publish, ring=executions.ring
    )
    logger.info("Status received", extra={"status": webhook.status, "result": result})
    count(Metric.STATUS_WEBHOOKS_ACCEPTED)
    return json_response(200, {"result": result.value})  # dispatch.api.schemas.StatusRecorded


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
