"""SQS (FIFO) consumer: deliver callback events to the customer, or schedule their retry."""

import functools

from dispatch.aws import dynamodb_table, lazy_client
from dispatch.domain.outcomes import workflow_measurements
from dispatch.integrations.callback_events import CallbackEvent, CallbackQueue
from dispatch.integrations.callbacks import (
    Delivery,
    deliver,
    post_to_public_address,
    process_batch,
    retry_delay,
)
from dispatch.observability import Metric, count, logger, metrics, record, tracer
from dispatch.settings import DeliverCallbackSettings
from dispatch.storage.account_repository import AccountRepository
from dispatch.storage.workflow_repository import WorkflowRepository

settings = DeliverCallbackSettings.from_environ()
table = dynamodb_table(settings.table_name)
workflows = WorkflowRepository(table)
accounts = AccountRepository(table)
sqs = lazy_client("sqs")  # only to retry later or dead-letter: made on first use
dead_letters = CallbackQueue(sqs, settings.callback_dead_letter_queue_url)
post = functools.partial(post_to_public_address, allow_loopback=settings.allow_http_loopback_callbacks)

OUTCOME_METRICS = {
    "delivered": Metric.CALLBACKS_DELIVERED,
    "retry": Metric.CALLBACKS_RETRIED,
    "dropped": Metric.CALLBACKS_DROPPED,
    "dead_letter": Metric.CALLBACKS_DEAD_LETTERED,
}


def deliver_event(event: CallbackEvent) -> Delivery:
    workflow = workflows.get(event.dispatch_uuid)
    account = accounts.get_account(workflow["account_id"]) if workflow else None
    result = deliver(
        event,
        workflow=workflow,
        account=account,
        post=post,
        stored_report=lambda report: workflows.store_final_report(event.dispatch_uuid, report),
        on_first_report=lambda finished: record(workflow_measurements(finished)),
    )
    logger.info(
        "Callback", extra={"event_id": event.event_id, "outcome": result.outcome, "detail": result.detail}
    )
    if result.outcome == "dead_letter":
        # Final: kept with its reason for the operator, never retried.
        dead_letters.publish(event, reason=result.detail)
    if result.outcome in OUTCOME_METRICS:
        count(OUTCOME_METRICS[result.outcome])
    return result


def defer(record: dict, delay: int) -> None:
    # The record comes back after `delay` seconds: backoff by visibility, not by sleeping here.
    sqs.change_message_visibility(
        QueueUrl=settings.callback_queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=delay
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
            attempt,
            base_seconds=settings.callback_retry_base_seconds,
            max_seconds=settings.callback_retry_max_seconds,
        ),
    )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in retry]}
