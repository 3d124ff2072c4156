"""Every AWS call a function makes while it runs is one its permissions.json declares (and so,
by tests/unit/test_permissions.py, one its IAM policy grants): workflows go through every
function on the local stack, whose execution environments (worker processes) note the IAM action
of each call boto3 makes and report them to the runtime with their answers, per function
(local_stack/lambda_worker.py). Every call since the stack started is checked, not only this
test's: any test's scenario that made an undeclared call fails here."""

from __future__ import annotations

import json
import uuid

import requests

from local_stack.receiver import CallbackReceiver
from tests.integration.helpers import messenger_then_sms, start_workflow, wait_for_end, wait_until


def declared(stack, logical_id: str) -> set[str]:
    document = json.loads((stack.deployment["code"][logical_id] / "permissions.json").read_text())
    return {call["action"] for call in document["calls"]}


def test_every_call_a_function_makes_is_declared_and_so_granted(stack):
    # New credentials: the authorizer runs (the gateway caches its answers per header).
    api_key = f"perm-{uuid.uuid4().hex[:8]}"
    stack.create_account(api_key, "secret", account_id=f"acct-{uuid.uuid4()}")
    api = requests.Session()
    api.auth = (api_key, "secret")
    receiver = CallbackReceiver().start()
    try:
        # Created with an Idempotency-Key, completed with callbacks, read, listed.
        body = messenger_then_sms("55", callback=receiver.url)
        response = api.post(
            f"{stack.api_url}/v0.1/dispatch", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert response.status_code == 202, response.text
        completed = response.json()["dispatch_uuid"]
        wait_for_end(api, stack, completed)
        wait_until(lambda: any(r["body"].get("dispatch_uuid") == completed for r in receiver.received))
        assert api.get(f"{stack.api_url}/v0.1/workflows?page_size=5").status_code == 200
        # Cancelled (stopping its execution), and a send that fails over.
        cancelled = start_workflow(api, stack, messenger_then_sms("02", expiry=30))
        assert api.delete(f"{stack.api_url}/v0.1/workflows/{cancelled}").status_code == 200
        failed = start_workflow(api, stack, messenger_then_sms("05", "05", expiry=30))
        wait_for_end(api, stack, failed)
        assert requests.get(f"{stack.api_url}/v0.1/openapi.json").status_code == 200
    finally:
        receiver.stop()

    exercised = {
        "AuthorizerFunction",
        "CreateWorkflowFunction",
        "GetWorkflowFunction",
        "ListWorkflowsFunction",
        "CancelWorkflowFunction",
        "SendMessageFunction",
        "StatusWebhookFunction",
        "DeliverCallbackFunction",
    }
    aws_calls = stack.runtime.aws_calls
    assert set(aws_calls) >= exercised, "a function made no AWS call: nothing was checked for it"
    for function, actions in aws_calls.items():
        assert actions - declared(stack, function) == set(), f"{function} calls what it does not declare"
