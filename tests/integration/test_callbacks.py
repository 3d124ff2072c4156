"""Callbacks to the customer through the local stack: signed status callbacks, one final report,
delivery that survives the receiver being down, the account's default callback URL."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest
import requests

from dispatch.integrations.signatures import verify_webhook
from local_stack.receiver import CallbackReceiver
from tests.integration.helpers import messenger_then_sms, start_workflow, wait_for_end, wait_until


class Receiver(CallbackReceiver):
    """The local callback receiver, with lookups by workflow."""

    def for_workflow(self, dispatch_uuid: str) -> list[dict]:
        return [r for r in self.received if _workflow_of(r["body"]) == dispatch_uuid]

    def final_reports(self, dispatch_uuid: str) -> list[dict]:
        return [r["body"] for r in self.for_workflow(dispatch_uuid) if "template" in r["body"]]


def _workflow_of(body: dict) -> str | None:
    return body.get("dispatch_uuid") or body.get("_links", {}).get("workflow", {}).get("dispatch_uuid")


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def customer(stack):
    """An account of its own, with a known signature secret."""
    api_key = f"cb-{uuid.uuid4().hex[:8]}"
    account = stack.create_account(api_key, "cb-secret", account_id=f"acct-{uuid.uuid4()}")
    session = requests.Session()
    session.auth = (api_key, "cb-secret")
    session.signature_secret = account.signature_secret
    session.api_key = api_key
    return session


def test_signed_status_callbacks_then_one_final_report(stack, customer, receiver):
    # Given a workflow that fails over from Messenger (never read) to SMS, with a callback URL
    dispatch_uuid = start_workflow(customer, stack, messenger_then_sms("01", callback=receiver.url))

    # When it runs to its end
    wait_for_end(customer, stack, dispatch_uuid)
    wait_until(lambda: receiver.final_reports(dispatch_uuid))
    time.sleep(0.5)  # room for anything (wrongly) sent after the final report
    callbacks = receiver.for_workflow(dispatch_uuid)

    # Then every callback is signed with the account's signature secret, like Vonage's webhooks
    for callback in callbacks:
        claims = verify_webhook(callback["authorization"], callback["raw"], secret=customer.signature_secret)
        assert claims["api_key"] == customer.api_key
    # And the statuses of each message come in order, the final report last and once
    statuses = [(c["body"]["channel"], c["body"]["status"]) for c in callbacks[:-1]]
    assert statuses == [
        ("messenger", "submitted"),
        ("messenger", "delivered"),
        ("sms", "submitted"),
        ("sms", "delivered"),
    ]
    status = callbacks[0]["body"]
    assert status["_links"]["workflow"] == {
        "dispatch_uuid": dispatch_uuid,
        "href": f"/v0.1/workflows/{dispatch_uuid}",
    }
    assert status["to"]["type"] == "messenger" and status["event_id"] == f"{dispatch_uuid}:0:submitted"
    (report,) = receiver.final_reports(dispatch_uuid)
    assert callbacks[-1]["body"] == report
    assert report["status"] == "completed" and report["event_id"] == f"{dispatch_uuid}:final"
    messages = report["_links"]["messages"]
    assert [(m["channel"], m["status"], m["outcome"]) for m in messages] == [
        ("messenger", "delivered", "expired"),
        ("sms", "delivered", "condition_met"),
    ]
    assert Decimal(report["usage"]["price"]) == sum(Decimal(m["usage"]["price"]) for m in messages)


def test_a_receiver_that_is_down_gets_every_callback_afterwards(stack, customer, receiver):
    # Given a receiver that is down while the whole workflow runs
    receiver.down = True
    dispatch_uuid = start_workflow(customer, stack, messenger_then_sms("55", callback=receiver.url))
    wait_for_end(customer, stack, dispatch_uuid)
    wait_until(lambda: receiver.refused >= 3)

    # When it comes back
    receiver.down = False

    # Then every callback arrives, in order, the final report last
    wait_until(lambda: receiver.final_reports(dispatch_uuid), timeout=30)
    bodies = [c["body"] for c in receiver.for_workflow(dispatch_uuid)]
    assert [b.get("status") for b in bodies] == ["submitted", "delivered", "read", "completed"]


def test_the_accounts_default_callback_url_is_used_without_a_callback(stack, receiver):
    api_key = f"cbdef-{uuid.uuid4().hex[:8]}"
    stack.create_account(api_key, "secret", account_id=f"acct-{uuid.uuid4()}", callback_url=receiver.url)
    session = requests.Session()
    session.auth = (api_key, "secret")

    dispatch_uuid = start_workflow(session, stack, messenger_then_sms("55"))

    wait_until(lambda: receiver.final_reports(dispatch_uuid))


def test_the_final_report_of_a_workflow_the_state_machine_ends_in_error(stack, customer, receiver):
    # Every send refused: the state machine marks the workflow as error and reports it.
    body = messenger_then_sms("05", "05", expiry=30, callback=receiver.url)
    dispatch_uuid = start_workflow(customer, stack, body)

    (report,) = wait_until(lambda: receiver.final_reports(dispatch_uuid))

    assert report["status"] == "error"
    assert [m["outcome"] for m in report["_links"]["messages"]] == ["send_failed", "send_failed"]
    assert "usage" not in report


def test_a_cancelled_workflow_reports_cancelled(stack, customer, receiver):
    dispatch_uuid = start_workflow(
        customer, stack, messenger_then_sms("02", expiry=30, callback=receiver.url)
    )
    wait_until(lambda: receiver.for_workflow(dispatch_uuid))

    customer.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")

    (report,) = wait_until(lambda: receiver.final_reports(dispatch_uuid))
    assert report["status"] == "cancelled"
    assert report["_links"]["messages"][0]["outcome"] == "cancelled"


def test_no_callback_url_means_no_callbacks(stack, customer, receiver):
    dispatch_uuid = start_workflow(customer, stack, messenger_then_sms("55"))
    wait_for_end(customer, stack, dispatch_uuid)
    time.sleep(1)
    assert receiver.for_workflow(dispatch_uuid) == []


def test_a_plain_http_callback_off_this_machine_is_refused(stack, customer):
    response = customer.post(
        f"{stack.api_url}/v0.1/dispatch",
        json=messenger_then_sms("55", callback="http://example.com/callbacks"),
    )
    assert response.status_code == 400
    assert [p["name"] for p in response.json()["invalid_parameters"]] == ["callback"]


@pytest.mark.parametrize(
    "callback",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/callbacks",
        "https://127.0.0.1/callbacks",
    ],
)
def test_a_callback_aimed_inward_is_refused_at_create(stack, customer, callback):
    response = customer.post(
        f"{stack.api_url}/v0.1/dispatch", json=messenger_then_sms("55", callback=callback)
    )

    # The local stack allows loopback (its documented exception) but nothing else inward.
    if callback.startswith("https://127.0.0.1"):
        assert response.status_code == 202, response.text
        return
    assert response.status_code == 400  # an invalid create body, as Dispatch declares
    assert [p["name"] for p in response.json()["invalid_parameters"]] == ["callback"]


def test_a_callback_url_aimed_inward_at_delivery_is_dead_lettered_with_its_reason(stack):
    # Given an account whose callback URL was stored before URLs were checked (written directly)
    api_key = f"cbin-{uuid.uuid4().hex[:8]}"
    account_id = f"acct-{uuid.uuid4()}"
    stack.create_account(api_key, "secret", account_id=account_id)
    table = stack.session().resource("dynamodb").Table(stack.table_name)
    table.update_item(
        Key={"pk": f"ACCOUNT#{account_id}"},
        UpdateExpression="SET callback_url = :url",
        ExpressionAttributeValues={":url": "https://10.0.0.1/callbacks"},
    )
    session = requests.Session()
    session.auth = (api_key, "secret")

    # When a workflow of that account runs
    dispatch_uuid = start_workflow(session, stack, messenger_then_sms("55"))
    wait_for_end(session, stack, dispatch_uuid)

    # Then its callbacks go to the dead-letter queue at once, each with the reason
    sqs = stack.client("sqs")
    dead_letters = stack.physical_id("CallbackDeadLetterQueue")
    found: dict[str, dict] = {}

    def dead_lettered():
        messages = sqs.receive_message(
            QueueUrl=dead_letters, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        found.update({m["MessageId"]: m for m in messages if dispatch_uuid in m["Body"]})
        return any('"final_report"' in m["Body"] for m in found.values())

    wait_until(dead_lettered)
    reasons = {m["MessageAttributes"]["reason"]["StringValue"] for m in found.values()}
    assert reasons == {"callback URL 10.0.0.1 resolves to a private address (10.0.0.1)"}
