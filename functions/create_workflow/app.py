"""POST /v0.1/dispatch and /v0.1/workflows: validate a Dispatch v0.1 workflow, store it, start it."""

import json
import os
from datetime import timedelta

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from dispatch.api import caller_account_id, json_response, new_resolver, request_body, status_webhook_url
from dispatch.clock import iso, utc_now
from dispatch.observability import logger, metrics, tracer
from dispatch.problems import service_unavailable
from dispatch.repository import WorkflowRepository
from dispatch.workflow_request import parse_workflow_request
from dispatch.workflows import create_workflow

STATE_MACHINE_ARN = os.environ["STATE_MACHINE_ARN"]
RETENTION = timedelta(days=int(os.environ.get("RETENTION_DAYS", "30")))
# Dispatch allows 15 s at least; only the local stack lowers it, so demos need not wait.
MIN_EXPIRY_TIME = int(os.environ.get("MIN_EXPIRY_TIME_SECONDS", "15"))

workflows = WorkflowRepository(boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]))
stepfunctions = boto3.client("stepfunctions")
app = new_resolver()


def start_execution(dispatch_uuid: str, execution_input: dict) -> None:
    try:
        stepfunctions.start_execution(
            stateMachineArn=STATE_MACHINE_ARN, name=dispatch_uuid, input=json.dumps(execution_input)
        )
    except (ClientError, BotoCoreError) as error:
        # Never leave a stored workflow in progress with nothing running it.
        logger.exception("Could not start the execution")
        workflows.mark_start_failed(dispatch_uuid, iso(utc_now()))
        raise service_unavailable(
            "The workflow could not be started; nothing was sent. Try again."
        ) from error


@app.post("/v0.1/dispatch")
@app.post("/v0.1/workflows")
@tracer.capture_method
def handle_create_workflow():
    request = parse_workflow_request(request_body(app), min_expiry_time=MIN_EXPIRY_TIME)
    dispatch_uuid = create_workflow(
        request,
        account_id=caller_account_id(app),
        status_webhook_url=status_webhook_url(app),
        save=workflows.create,
        start_execution=start_execution,
        now=utc_now(),
        retention=RETENTION,
    )
    logger.info("Workflow started", extra={"dispatch_uuid": dispatch_uuid, "steps": len(request.workflow)})
    metrics.add_metric(name="WorkflowsCreated", unit=MetricUnit.Count, value=1)
    return json_response(202, {"dispatch_uuid": dispatch_uuid})


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
