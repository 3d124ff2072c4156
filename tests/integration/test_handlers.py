"""The handlers with moto standing in for AWS: the sample events of events/ invoked through
moto's Lambda API, and the status webhook's signature checks through the local HTTP API."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

import pytest
import requests

from dispatch.integrations.signatures import sign_webhook
from local_stack.demo import text_step
from tests.integration.helpers import messages_sent_for, recipient, wait_until

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def basic(api_key: str, api_secret: str) -> str:
    return "Basic " + base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()


# -- authorizer -----------------------------------------------------------------------------------


def test_authorizer_allows_an_account_and_names_it(stack):
    event = load_event("authorizer")
    event["headers"]["authorization"] = basic(stack.settings.api_key, stack.settings.api_secret)

    result, failed = stack.invoke_function("AuthorizerFunction", event)

    assert not failed
    assert result == {"isAuthorized": True, "context": {"account_id": "demo-account", "auth_method": "basic"}}


@pytest.mark.parametrize("authorization", ["Basic ZGVtbzp3cm9uZw==", "Basic !!!", "Bearer x.y.z", ""])
def test_authorizer_names_no_account_for_anything_else(stack, authorization):
    event = load_event("authorizer")
    event["headers"]["authorization"] = authorization

    result, failed = stack.invoke_function("AuthorizerFunction", event)

    # Let through without an account: the functions answer with a 401 problem body.
    assert not failed
    assert "account_id" not in result["context"]
    assert result["context"]["auth_error"] in ("invalid_credentials", "invalid_token", "unsupported_scheme")


# -- create / get through their sample events -----------------------------------------------------


def test_create_event_starts_a_workflow_that_get_event_then_shows(stack):
    created, failed = stack.invoke_function("CreateWorkflowFunction", load_event("create_workflow"))
    assert not failed and created["statusCode"] == 202
    dispatch_uuid = json.loads(created["body"])["dispatch_uuid"]

    get_event = load_event("get_workflow")
    get_event["pathParameters"]["dispatch_uuid"] = dispatch_uuid
    get_event["rawPath"] = get_event["requestContext"]["http"]["path"] = f"/v0.1/workflows/{dispatch_uuid}"
    shown, failed = stack.invoke_function("GetWorkflowFunction", get_event)

    assert not failed and shown["statusCode"] == 200
    assert json.loads(shown["body"])["dispatch_uuid"] == dispatch_uuid


# -- send message: at most once -------------------------------------------------------------------


def test_a_retried_send_never_sends_the_message_twice(stack, api):
    # Given a workflow whose first message has been sent (and waits 30 s for its condition)
    body = {
        "template": "failover",
        "workflow": [
            text_step(
                "messenger", recipient("02"), "once only", {"expiry_time": 30, "condition_status": "read"}
            ),
            text_step("sms", recipient("55"), "fallback"),
        ],
    }
    dispatch_uuid = api.post(f"{stack.api_url}/v0.1/dispatch", json=body).json()["dispatch_uuid"]
    wait_until(lambda: messages_sent_for(stack, dispatch_uuid))
    first = wait_until(
        lambda: (
            api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")
            .json()["workflow"][0]
            .get("message_uuid")
        )
    )

    # When Step Functions (or Lambda) retries the send task, twice
    task = {**load_event("send_message"), "dispatch_uuid": dispatch_uuid}
    results = [stack.invoke_function("SendMessageFunction", task) for _ in range(2)]

    # Then each retry reuses the first send's result and nothing more reaches the provider
    for result, failed in results:
        assert not failed
        assert result == {"accepted": True, "wait_seconds": 30, "message_uuid": first}
    assert len(messages_sent_for(stack, dispatch_uuid)) == 1


def test_sending_for_an_unknown_workflow_fails_the_task_without_sending(stack):
    sent_before = len(stack.sandbox.sent)
    result, failed = stack.invoke_function("SendMessageFunction", load_event("send_message"))
    assert failed and result["errorType"] == "WorkflowNotFound"
    assert len(stack.sandbox.sent) == sent_before


def test_a_malformed_task_input_fails_the_task(stack):
    result, failed = stack.invoke_function("SendMessageFunction", {"dispatch_uuid": "x", "step_index": -1})
    assert failed and result["errorType"] == "InvalidTaskInput"


# -- status webhook: signatures -------------------------------------------------------------------


def status_body(**overrides) -> bytes:
    body = {
        "message_uuid": str(uuid.uuid4()),
        "to": "447700900001",
        "from": "447700900000",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "channel": "sms",
        "status": "delivered",
        "client_ref": f"{uuid.uuid4()}:0",
    }
    return json.dumps({**body, **overrides}).encode()


def post_status(stack, body: bytes, authorization: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return requests.post(f"{stack.api_url}/webhooks/message-status", data=body, headers=headers)


def test_a_signed_status_for_an_unknown_message_is_acknowledged(stack):
    body = status_body()
    response = post_status(
        stack, body, sign_webhook(body, secret=stack.signature_secret, api_key="sandbox-key")
    )
    assert response.status_code == 200
    assert response.json() == {"result": "unknown_message"}


@pytest.mark.parametrize(
    "signing",
    ["missing", "wrong secret", "stale", "body changed after signing", "not a jwt"],
)
def test_unsigned_or_badly_signed_statuses_are_refused(stack, signing):
    body = status_body()
    secret = stack.signature_secret
    authorization = {
        "missing": None,
        "wrong secret": sign_webhook(body, secret="x" * 32, api_key="k"),
        "stale": sign_webhook(body, secret=secret, api_key="k", issued_at=int(time.time()) - 26 * 3600),
        "body changed after signing": sign_webhook(status_body(), secret=secret, api_key="k"),
        "not a jwt": "Bearer not-a-jwt",
    }[signing]

    response = post_status(stack, body, authorization)

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "status", "parameter"),
    [
        (status_body(status="seen"), 400, "status"),
        (status_body(timestamp="yesterday"), 400, "timestamp"),
        (b"{not json", 400, None),
    ],
)
def test_signed_but_malformed_statuses_get_a_problem(stack, body, status, parameter):
    response = post_status(stack, body, sign_webhook(body, secret=stack.signature_secret, api_key="k"))
    assert response.status_code == status
    if parameter:
        assert parameter in {p["name"] for p in response.json()["invalid_parameters"]}
