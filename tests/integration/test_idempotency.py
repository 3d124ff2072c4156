"""Idempotency-Key on create: a replay returns the first answer and starts nothing new."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from local_stack.demo import text_step
from tests.integration.helpers import recipient


def body(text: str = "hello") -> dict:
    return {
        "template": "failover",
        "workflow": [
            text_step("messenger", recipient("55"), text, {"expiry_time": 10, "condition_status": "read"}),
            text_step("sms", recipient("55"), text),
        ],
    }


def executions(stack) -> set[str]:
    stepfunctions = stack.client("stepfunctions")
    pages = stepfunctions.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn)
    return {e["name"] for page in pages for e in page["executions"]}


def test_the_same_key_and_body_return_the_same_workflow_and_start_nothing_new(stack, api):
    key, request = str(uuid.uuid4()), body()

    first = api.post(f"{stack.api_url}/v0.1/dispatch", json=request, headers={"Idempotency-Key": key})
    started = executions(stack)
    again = api.post(f"{stack.api_url}/v0.1/dispatch", json=request, headers={"Idempotency-Key": key})

    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert executions(stack) == started


def test_the_same_key_with_another_body_is_a_422_problem(stack, api):
    key = str(uuid.uuid4())
    api.post(f"{stack.api_url}/v0.1/dispatch", json=body("first"), headers={"Idempotency-Key": key})

    response = api.post(
        f"{stack.api_url}/v0.1/dispatch", json=body("second"), headers={"Idempotency-Key": key}
    )

    assert response.status_code == 422
    assert response.json()["invalid_parameters"][0]["name"] == "Idempotency-Key"


def test_concurrent_identical_requests_start_one_workflow(stack, api):
    key, request = str(uuid.uuid4()), body()
    before = executions(stack)

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(
            pool.map(
                lambda _: api.post(
                    f"{stack.api_url}/v0.1/dispatch", json=request, headers={"Idempotency-Key": key}
                ),
                range(4),
            )
        )

    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["dispatch_uuid"] for r in responses}) == 1
    assert len(executions(stack) - before) == 1


def test_keys_belong_to_their_account(stack, api):
    key, request = str(uuid.uuid4()), body()
    stack.create_account("idem-other", "idem-other-secret", account_id="idem-other-account")

    mine = api.post(f"{stack.api_url}/v0.1/dispatch", json=request, headers={"Idempotency-Key": key})
    theirs = api.post(
        f"{stack.api_url}/v0.1/dispatch",
        json=request,
        headers={"Idempotency-Key": key},
        auth=("idem-other", "idem-other-secret"),
    )

    assert mine.json()["dispatch_uuid"] != theirs.json()["dispatch_uuid"]


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "caf\u00e9"])
def test_a_malformed_key_is_a_400_problem(stack, api, key):
    response = api.post(
        f"{stack.api_url}/v0.1/dispatch",
        json=body(),
        headers={"Idempotency-Key": key.encode().decode("latin-1")},
    )
    assert response.status_code == 400
    assert response.json()["invalid_parameters"][0]["name"] == "Idempotency-Key"


def test_an_invalid_body_is_refused_without_using_up_the_key(stack, api):
    key = str(uuid.uuid4())
    refused = api.post(
        f"{stack.api_url}/v0.1/dispatch", json={"template": "failover"}, headers={"Idempotency-Key": key}
    )
    accepted = api.post(f"{stack.api_url}/v0.1/dispatch", json=body(), headers={"Idempotency-Key": key})
    assert (refused.status_code, accepted.status_code) == (400, 202)
