"""Lambda's SQS event source mapping, emulated: moto would invoke the function synchronously
inside `SendMessage`, with no visibility timeouts, retries or dead-letter queue. Instead the
queue is long-polled here and the function invoked as Lambda does: batches, partial batch
failures (`batchItemFailures`), and messages that failed coming back after their visibility
timeout (which the function itself may lengthen for backoff) until the redrive policy moves
them to the dead-letter queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from moto.sqs.models import sqs_backends

Invoke = Callable[[dict[str, Any]], tuple[Any, bool]]


class SqsEventSource:
    def __init__(
        self,
        sqs: Any,
        *,
        queue_arn: str,
        invoke: Invoke,
        batch_size: int = 10,
        report_batch_item_failures: bool = True,
    ) -> None:
        _, _, _, self._region, account_id, name = queue_arn.split(":")
        self._sqs = sqs
        self._queue_arn = queue_arn
        self._queue_url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account_id)["QueueUrl"]
        self._invoke = invoke
        # moto can hand out a FIFO group's later message before an earlier one when several of
        # them were in flight together; one message at a time keeps the order SQS guarantees.
        self._batch_size = 1 if name.endswith(".fifo") else batch_size
        self._partial = report_batch_item_failures
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"sqs-event-source-{name}")
        # Take the queue away from moto's synchronous invocation: this poller is its consumer.
        sqs_backends[account_id][self._region].queues[name].lambda_event_source_mappings.clear()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._poll_once()
            except Exception:  # keep polling, as Lambda does, whatever one batch did
                time.sleep(0.5)

    def _poll_once(self) -> None:
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        result, failed = self._invoke({"Records": [self._record(m) for m in messages]})
        if failed:
            return  # the whole batch comes back after its visibility timeout
        failures = set()
        if self._partial and isinstance(result, dict):
            failures = {f["itemIdentifier"] for f in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failures]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }


def sqs_event_sources(cfn: dict[str, Any], resources: dict[str, str], sqs: Any, invoke_function) -> list:
    """One poller per SQS event source mapping that the SAM transform generated."""
    sources = []
    for resource in cfn["Resources"].values():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        properties = resource["Properties"]
        queue_logical_id = properties["EventSourceArn"]["Fn::GetAtt"][0]
        function = properties["FunctionName"]  # {"Ref": id}, or {"Fn::GetAtt": [id, "Arn"]} (latest_versions)
        function_logical_id = function["Ref"] if "Ref" in function else function["Fn::GetAtt"][0]
        queue_url = resources[queue_logical_id]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sources.append(
            SqsEventSource(
                sqs,
                queue_arn=queue_arn,
                invoke=lambda event, function=function_logical_id: invoke_function(function, event),
                batch_size=int(properties.get("BatchSize", 10)),
                report_batch_item_failures="ReportBatchItemFailures"
                in properties.get("FunctionResponseTypes", []),
            )
        )
    return sources
