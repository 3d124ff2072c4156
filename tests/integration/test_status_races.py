"""Status webhooks racing other writes, through the local stack (HTTP gateway -> status Lambda ->
DynamoDB in moto), observed through GET /v0.1/workflows/{id}:

- a status redelivered after the status Lambda crashed between storing it and deciding the step;
- duplicates delivered side by side, some reading the workflow before another Lambda's write
  (the exact interleaving of a stale read is pinned by tests/unit/test_rules_status_updates.py).

The first message goes to sandbox recipient `02` (the sandbox reports it submitted, never read),
and its step waits 30 s for `read`: every `read` here is one the test delivers, signed like the
Messages API's, and a workflow completed by it completes at once, long before that expiry.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import boto3
import requests

from dispatch.domain.statuses import MessageStatus, rank
from dispatch.integrations.signatures import sign_webhook
from dispatch.storage.workflow_repository import WorkflowRepository
from tests.integration.helpers import messenger_then_sms, start_workflow, wait_until

EXPIRY = 30


def workflow(api, stack, dispatch_uuid: str) -> dict:
    response = api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")
    assert response.status_code == 200, response.text
    return response.json()


def waiting_for_read(api, stack) -> tuple[str, str]:
    """A workflow whose first message was sent and reported submitted; its ids."""
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("02", expiry=EXPIRY))
    step = wait_until(
        lambda: (s := workflow(api, stack, dispatch_uuid)["workflow"][0]).get("status") == "submitted" and s
    )
    return dispatch_uuid, step["message_uuid"]


def repository(stack) -> WorkflowRepository:
    return WorkflowRepository(
        boto3.resource("dynamodb", region_name=stack.settings.region).Table(stack.table_name)
    )


def store_read_without_deciding(stack, dispatch_uuid: str, message_uuid: str) -> None:
    """The write a status Lambda makes before deciding the step: all a crashed one leaves behind."""
    assert repository(stack).record_status(
        dispatch_uuid,
        0,
        status="read",
        rank=rank(MessageStatus.READ),
        status_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        message_uuid=message_uuid,
    )


def deliver_read(stack, dispatch_uuid: str, message_uuid: str) -> requests.Response:
    """The Messages API (re)delivering the message's read status, signed."""
    body = json.dumps(
        {
            "message_uuid": message_uuid,
            "to": "PSID",
            "from": "DEMO_PAGE_ID",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "channel": "messenger",
            "status": "read",
            "client_ref": f"{dispatch_uuid}:0",
        }
    ).encode()
    authorization = sign_webhook(body, secret=stack.signature_secret, api_key="sandbox-key")
    return requests.post(
        f"{stack.api_url}/webhooks/message-status",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": authorization},
    )


def test_a_status_redelivered_after_a_crash_between_storing_and_deciding_completes_the_workflow(stack, api):
    # Given a read stored for the first message by a status Lambda that crashed before deciding
    dispatch_uuid, message_uuid = waiting_for_read(api, stack)
    store_read_without_deciding(stack, dispatch_uuid, message_uuid)
    assert workflow(api, stack, dispatch_uuid)["status"] == "in_progress"
    # When the Messages API redelivers the read (it got no 2xx from the crashed Lambda)
    response = deliver_read(stack, dispatch_uuid, message_uuid)
    # Then the redelivery is acknowledged and completes the workflow at once, not at the expiry
    assert (response.status_code, response.json()) == (200, {"result": "ignored"})
    shown = workflow(api, stack, dispatch_uuid)
    assert (shown["status"], shown["current_step"]) == ("completed", 0)
    assert shown["workflow"][0]["outcome"] == "condition_met"


DUPLICATES = 8


def test_duplicates_delivered_side_by_side_are_all_acknowledged_and_stored_once(stack, api):
    # Given a workflow waiting for its first message's read
    dispatch_uuid, message_uuid = waiting_for_read(api, stack)
    # When the Messages API delivers the read several times at once (at-least-once delivery):
    # the local stack runs up to `concurrency` status Lambdas side by side, in processes of their
    # own, so some read the workflow before another's write lands and have their write refused
    barrier = threading.Barrier(DUPLICATES)
    responses: list[requests.Response] = []

    def deliver() -> None:
        barrier.wait()
        responses.append(deliver_read(stack, dispatch_uuid, message_uuid))

    threads = [threading.Thread(target=deliver) for _ in range(DUPLICATES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every one is acknowledged (a refused write is no error: a 500 would make the Messages
    # API retry), exactly one stored the status, and the workflow completed on it
    assert [r.status_code for r in responses] == [200] * DUPLICATES, [r.text for r in responses]
    assert sorted(r.json()["result"] for r in responses) == ["ignored"] * (DUPLICATES - 1) + ["recorded"]
    shown = workflow(api, stack, dispatch_uuid)
    assert (shown["status"], shown["workflow"][0]["outcome"]) == ("completed", "condition_met")
