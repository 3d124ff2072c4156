"""Status webhooks racing other writes, through the local stack (HTTP gateway -> status Lambda ->
DynamoDB in moto), observed through GET /v0.1/workflows/{id}:

- a status redelivered after the status Lambda crashed between storing it and deciding the step;
- a duplicate delivery whose read of the workflow predates another Lambda's write of the status.

The first message goes to sandbox recipient `02` (the sandbox reports it submitted, never read),
and its step waits 30 s for `read`: every `read` here is one the test delivers, signed like the
Messages API's, and a workflow completed by it completes at once, long before that expiry.
"""

from __future__ import annotations

import copy
import json
import threading
from datetime import UTC, datetime

import boto3
import pytest
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


class StaleReads:
    """Makes the next read of one workflow return it as it was before any status was stored:
    what a Lambda that read it just before another Lambda's write holds."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, dispatch_uuid: str) -> None:
        self.dispatch_uuid, self.served = dispatch_uuid, 0
        self._lock = threading.Lock()
        get = WorkflowRepository.get

        def stale_get(repository: WorkflowRepository, uuid_: str):
            item = get(repository, uuid_)
            with self._lock:
                if uuid_ != self.dispatch_uuid or self.served or item is None:
                    return item
                self.served += 1
            stale = copy.deepcopy(item)
            for key in ("status", "status_rank", "status_at"):
                stale["steps"][0].pop(key, None)
            return stale

        monkeypatch.setattr(WorkflowRepository, "get", stale_get)


def test_a_duplicate_delivered_while_another_lambda_stores_the_status_is_acknowledged(
    stack, api, monkeypatch
):
    # Given a read stored by one status Lambda that has not decided the step yet, and a duplicate
    # of it handled by another Lambda whose read of the workflow came before that write
    dispatch_uuid, message_uuid = waiting_for_read(api, stack)
    store_read_without_deciding(stack, dispatch_uuid, message_uuid)
    stale = StaleReads(monkeypatch, dispatch_uuid)
    # When the duplicate is delivered
    response = deliver_read(stack, dispatch_uuid, message_uuid)
    # Then it is acknowledged as ignored (its write was refused), not answered with a 500 that
    # would make the Messages API retry, and it leaves deciding to the Lambda that stored it
    assert stale.served == 1, "the status Lambda read the workflow through WorkflowRepository.get"
    assert (response.status_code, response.json()) == (200, {"result": "ignored"})
    monkeypatch.undo()
    assert workflow(api, stack, dispatch_uuid)["status"] == "in_progress"
    # And should that Lambda die before deciding, the next redelivery decides
    assert deliver_read(stack, dispatch_uuid, message_uuid).status_code == 200
    assert workflow(api, stack, dispatch_uuid)["status"] == "completed"
