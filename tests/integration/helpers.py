"""Helpers of the integration tests: recipients, workflow bodies, polling."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import requests

from dispatch.api.examples import example_workflow
from local_stack.stack import LocalStack

FINAL_STATUS_TIMEOUT = 5


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
