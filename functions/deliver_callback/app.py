"""SQS (FIFO) consumer: deliver callback events to the customer, or schedule their retry."""

import os

import requests
from aws_lambda_powertools.metrics import MetricUnit

from dispatch.aws import client, dynamodb_table
from dispatch.integrations.callbacks import CallbackEvent, Delivery, deliver, process_batch, retry_delay
from dispatch.observability import logger, metrics, tracer
from dispatch.storage.account_repository import AccountRepository
from dispatch.storage.workflow_repository import WorkflowRepository

QUEUE_URL = os.environ["CALLBACK_QUEUE_URL"]
RETRY_BASE_SECONDS = int(os.environ.get("CALLBACK_RETRY_BASE_SECONDS", "5"))
RETRY_MAX_SECONDS = int(os.environ.get("CALLBACK_RETRY_MAX_SECONDS", "900"))

table = dynamodb_table(os.environ["TABLE_NAME"])
workflows = WorkflowRepository(table)
accounts = AccountRepository(table)
sqs = client("sqs")
http = requests.Session()


def deliver_event(event: CallbackEvent) -> Delivery:
    workflow = workflows.get(event.dispatch_uuid)
    account = accounts.get_account(workflow["account_id"]) if workflow else None
    result = deliver(
        event,
        workflow=workflow,
        account=account,
        post=http.post,
        stored_report=lambda report: workflows.store_final_report(event.dispatch_uuid, report),
    )
    logger.info(
        "Callback", extra={"event_id": event.event_id, "outcome": result.outcome, "detail": result.detail}
    )
    metrics.add_metric(name=f"Callbacks_{result.outcome}", unit=MetricUnit.Count, value=1)
    return result


def defer(record: dict, delay: int) -> None:
    # The record comes back after `delay` seconds: backoff by visibility, not by sleeping here.
    sqs.change_message_visibility(
        QueueUrl=QUEUE_URL, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=delay
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    retry = process_batch(
        event["Records"],
        deliver_one=deliver_event,
        defer=defer,
        delay_for=lambda attempt: retry_delay(
            attempt, base_seconds=RETRY_BASE_SECONDS, max_seconds=RETRY_MAX_SECONDS
        ),
    )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in retry]}
