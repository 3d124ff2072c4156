"""POST /webhooks/message-status: verify a signed Messages API status and record it."""

import os

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from dispatch.api.problems import bad_request, invalid_parameters, unauthorized
from dispatch.api.resolver import json_response, new_resolver, request_body
from dispatch.api.schemas import StatusRecorded
from dispatch.aws import client, dynamodb_table, get_secret
from dispatch.domain.status_updates import StatusWebhook, record_message_status
from dispatch.integrations.callbacks import CallbackQueue
from dispatch.integrations.signatures import InvalidSignature, verify_webhook
from dispatch.observability import logger, metrics, tracer
from dispatch.storage.workflow_repository import WorkflowRepository

SIGNATURE_SECRET_NAME = os.environ["WEBHOOK_SIGNATURE_SECRET_NAME"]
MAX_AGE_SECONDS = int(os.environ.get("WEBHOOK_MAX_AGE_SECONDS", "300"))

workflows = WorkflowRepository(dynamodb_table(os.environ["TABLE_NAME"]))
callbacks = CallbackQueue(client("sqs"), os.environ["CALLBACK_QUEUE_URL"])
app = new_resolver(authenticated=False)


@app.post("/webhooks/message-status")
@tracer.capture_method
def handle_message_status():
    body = request_body(app)
    authorization = app.current_event.headers.get("authorization")
    secret = get_secret(SIGNATURE_SECRET_NAME, max_age=300)
    try:
        verify_webhook(authorization, body, secret=secret, max_age_seconds=MAX_AGE_SECONDS)
    except InvalidSignature as error:
        logger.warning("Rejected an unsigned or badly signed status", extra={"reason": str(error)})
        raise unauthorized("The status is not signed with this account's signature secret.") from error
    try:
        webhook = StatusWebhook.model_validate_json(body)
    except ValidationError as error:
        raise _as_problem(error) from error
    result = record_message_status(webhook, workflows=workflows, publish=callbacks.publish)
    logger.info("Status received", extra={"status": webhook.status, "result": result})
    metrics.add_metric(name=f"Status_{webhook.status}", unit=MetricUnit.Count, value=1)
    return json_response(200, StatusRecorded(result=result).body())


def _as_problem(error: ValidationError):
    if any(e["type"] == "json_invalid" for e in error.errors()):
        return bad_request("The body is not valid JSON.")
    return invalid_parameters(
        [{"name": ".".join(str(part) for part in e["loc"]), "reason": e["msg"]} for e in error.errors()]
    )


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
