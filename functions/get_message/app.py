"""GET /v0.1/messages/{message_uuid}: one message of the calling account's workflows, and its state."""

import os

import boto3

from dispatch.api.problems import echo, not_found
from dispatch.api.resolver import caller_account_id, json_response, new_resolver
from dispatch.domain.messages import find_message, message_view
from dispatch.observability import logger, metrics, tracer
from dispatch.storage.workflow_repository import WorkflowRepository

workflows = WorkflowRepository(boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]))
app = new_resolver()


@app.get("/v0.1/messages/<message_uuid>")
@tracer.capture_method
def handle_get_message(message_uuid: str):
    found = find_message(workflows, message_uuid, account_id=caller_account_id(app))
    if found is None:
        raise not_found(f"No message {echo(message_uuid)!r} in this account.")
    return json_response(200, message_view(*found))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
