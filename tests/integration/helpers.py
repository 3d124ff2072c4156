"""Helpers of the integration tests: recipients, workflow bodies, polling."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.responses import DynamoHandler

from dispatch.api.examples import example_workflow
from local_stack.stack import LocalStack

# Long enough for a last message's statuses to come back while every scenario of a module runs at
# once on a busy machine; the execution ends with the workflow, so only timeouts wait it out.
FINAL_STATUS_TIMEOUT = 10


def recipient(suffix: str) -> str:
    """A phone number or PSID ending in the sandbox suffix, unique per call (the sandbox keys
    some behaviours, like `06`'s first-attempt 429, by recipient)."""
    return f"44{random.randrange(10**8, 10**9)}{suffix}"


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def wait_for_end(api: requests.Session, stack: LocalStack, dispatch_uuid: str, timeout: float = 20.0) -> dict:
    def finished():
        response = api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")
        assert response.status_code == 200, response.text
        workflow = response.json()
        return workflow if workflow["status"] != "in_progress" else None

    return wait_until(finished, timeout)


def messages_sent_for(stack: LocalStack, dispatch_uuid: str) -> list[dict]:
    return [m for m in stack.sandbox.sent if m.get("client_ref", "").startswith(f"{dispatch_uuid}:")]


def messenger_then_sms(
    messenger_suffix: str, sms_suffix: str = "55", *, expiry: int = 2, callback: str | None = None
) -> dict:
    """The project's example body (Messenger, condition read within `expiry`, then SMS) to
    sandbox recipients with the given suffixes."""
    body = example_workflow()
    messenger, sms = body["workflow"]
    messenger["to"]["id"], sms["to"]["number"] = recipient(messenger_suffix), recipient(sms_suffix)
    messenger["failover"]["expiry_time"] = expiry
    if callback:
        body["callback"] = callback
    return body


def start_workflow(session: requests.Session, stack: LocalStack, body: dict) -> str:
    """POST /v0.1/dispatch; the new workflow's dispatch_uuid."""
    response = session.post(f"{stack.api_url}/v0.1/dispatch", json=body)
    assert response.status_code == 202, response.text
    return response.json()["dispatch_uuid"]


# -- executions and the workflow item -------------------------------------------------------------


def execution_arn(stack: LocalStack, dispatch_uuid: str) -> str:
    return stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{dispatch_uuid}"


def describe_execution(stack: LocalStack, dispatch_uuid: str) -> dict:
    return stack.client("stepfunctions").describe_execution(executionArn=execution_arn(stack, dispatch_uuid))


def wait_for_execution_end(stack: LocalStack, dispatch_uuid: str, timeout: float = 20.0) -> dict:
    def ended():
        execution = describe_execution(stack, dispatch_uuid)
        return execution if execution["status"] != "RUNNING" else None

    return wait_until(ended, timeout, interval=0.1)


def states_entered(stack: LocalStack, dispatch_uuid: str) -> list[str]:
    """The states the execution entered, in order (what Step Functions bills as transitions)."""
    events = stack.client("stepfunctions").get_execution_history(
        executionArn=execution_arn(stack, dispatch_uuid), maxResults=1000
    )["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def workflow_item(stack: LocalStack, dispatch_uuid: str) -> dict | None:
    """The raw DynamoDB item (with what the API never shows, like the waiting task token)."""
    table = stack.session().resource("dynamodb").Table(stack.table_name)
    return table.get_item(Key={"pk": f"WORKFLOW#{dispatch_uuid}"}, ConsistentRead=True).get("Item")


def waiting_on(stack: LocalStack, dispatch_uuid: str, step_index: int, timeout: float = 40.0) -> str:
    """Wait until the execution waits on step `step_index` with its task token stored; the token."""

    def stored():
        item = workflow_item(stack, dispatch_uuid) or {}
        if "task_token" in item and int(item["task_token_step"]) == step_index:
            return item["task_token"]
        return None

    return wait_until(stored, timeout)


def seconds_between(earlier: str | datetime, later: str | datetime) -> float:
    """Seconds from one timestamp to another (ISO strings from the API, or datetimes from boto3)."""
    first, second = (
        moment if isinstance(moment, datetime) else datetime.fromisoformat(moment.replace("Z", "+00:00"))
        for moment in (earlier, later)
    )
    return (second - first).total_seconds()


class InjectedDynamoDbError(JsonRESTError):
    """A DynamoDB error answer, e.g. ProvisionedThroughputExceededException (which the state
    machine retries) or ValidationException (which no client retries)."""

    def __init__(self, code: str = "ProvisionedThroughputExceededException", status: int = 400) -> None:
        super().__init__(f"com.amazonaws.dynamodb.v20120810#{code}", "Injected by a test")
        self.code = status


@contextlib.contextmanager
def intercepted_dynamodb_writes(intercept: Callable[[dict, dict], None]):
    """Run `intercept(body, headers)` before every UpdateItem that reaches the local stack's
    DynamoDB (moto runs in this process): it may sleep, or raise InjectedDynamoDbError to fail the
    write. Headers tell callers apart: moto's Step Functions interpreter signs with the access
    key "ak", the functions with "testing"."""
    original = DynamoHandler.update_item

    def update_item(handler):
        intercept(handler.body, dict(handler.headers))
        return original(handler)

    DynamoHandler.update_item = update_item
    try:
        yield
    finally:
        DynamoHandler.update_item = original


def for_workflow(body: dict, dispatch_uuid: str) -> bool:
    return body.get("Key", {}).get("pk", {}).get("S") == f"WORKFLOW#{dispatch_uuid}"


def from_state_machine(headers: dict) -> bool:
    return "Credential=ak/" in headers.get("Authorization", headers.get("authorization", ""))
