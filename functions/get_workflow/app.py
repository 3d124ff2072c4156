"""GET /v0.1/workflows/{dispatch_uuid}: a workflow of the calling account, step by step."""

import os
import uuid

import boto3

from dispatch.api import caller_account_id, json_response, new_resolver
from dispatch.observability import logger, metrics, tracer
from dispatch.problems import not_found
from dispatch.repository import WorkflowRepository
from dispatch.workflows import workflow_view

workflows = WorkflowRepository(boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]))
app = new_resolver()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@app.get("/v0.1/workflows/<dispatch_uuid>")
@tracer.capture_method
def handle_get_workflow(dispatch_uuid: str):
    account_id = caller_account_id(app)
    item = workflows.get(dispatch_uuid) if _is_uuid(dispatch_uuid) else None
    # Another account's workflow is indistinguishable from a missing one.
    if item is None or item["account_id"] != account_id:
        raise not_found(f"No workflow {dispatch_uuid!r} in this account.")
    return json_response(200, workflow_view(item))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
