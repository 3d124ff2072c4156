"""DELETE /v0.1/workflows/{id} (cancel) and GET /v0.1/workflows (list) through the local stack."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.integration.helpers import (
    messages_sent_for,
    messenger_then_sms,
    start_workflow,
    wait_for_end,
    wait_until,
)


def execution_status(stack, dispatch_uuid: str) -> str:
    arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{dispatch_uuid}"
    return stack.client("stepfunctions").describe_execution(executionArn=arn)["status"]


@pytest.fixture
def account(stack):
    """A fresh account, so that its listing holds only this test's workflows."""
    api_key, api_secret = f"key-{uuid.uuid4().hex[:8]}", "secret-" + uuid.uuid4().hex
    stack.create_account(api_key, api_secret, account_id=f"acct-{uuid.uuid4()}")
    session = requests.Session()
    session.auth = (api_key, api_secret)
    return session


# -- cancel ---------------------------------------------------------------------------------------


def test_cancel_stops_a_running_workflow_before_its_failover(stack, api):
    # Given a workflow waiting for a read that never comes (it would fail over after 3 s)
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("02", expiry=3))
    wait_until(lambda: messages_sent_for(stack, dispatch_uuid))

    # When it is cancelled
    response = api.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")

    # Then it ends cancelled, its execution stops, and the SMS is never sent
    assert response.status_code == 200
    workflow = response.json()
    assert workflow["status"] == "cancelled"
    assert workflow["workflow"][0]["outcome"] == "cancelled"
    wait_until(lambda: execution_status(stack, dispatch_uuid) == "ABORTED")
    time.sleep(4)  # past the expiry: a failover would have sent the SMS by now
    assert len(messages_sent_for(stack, dispatch_uuid)) == 1
    assert api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").json()["status"] == "cancelled"


def test_cancel_is_idempotent(stack, api):
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("02", expiry=10))

    first = api.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")
    again = api.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")

    assert first.status_code == again.status_code == 200
    # The same workflow, cancelled once (its first message's send may land in between).
    for response in (first, again):
        assert response.json()["status"] == "cancelled"
        assert response.json()["finished_at"] == first.json()["finished_at"]


def test_cancelling_a_finished_workflow_is_a_409_problem(stack, api):
    # Given a workflow completed at once (its Messenger message is read)
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("55", expiry=10))
    assert wait_for_end(api, stack, dispatch_uuid)["status"] == "completed"

    response = api.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")

    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "completed" in response.json()["detail"]
    assert api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").json()["status"] == "completed"


def test_another_accounts_workflow_cannot_be_cancelled(stack, api, account):
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("02", expiry=10))

    response = account.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")

    assert response.status_code == 404
    assert api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").json()["status"] == "in_progress"
    api.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")  # tidy up


# -- list -----------------------------------------------------------------------------------------


def test_list_pages_newest_first_with_an_opaque_cursor(stack, account):
    # Given three workflows of one account
    created = [start_workflow(account, stack, messenger_then_sms("55", expiry=10)) for _ in range(3)]

    # When its listing is read two at a time
    first = account.get(f"{stack.api_url}/v0.1/workflows", params={"page_size": 2}).json()
    second = account.get(f"{stack.api_url}{first['_links']['next']['href']}").json()

    # Then every workflow comes once, newest first, and the last page has no next link
    listed = [w["dispatch_uuid"] for w in first["workflows"] + second["workflows"]]
    assert listed == list(reversed(created))
    assert len(first["workflows"]) == 2
    assert "next" not in second["_links"]
    assert set(first["workflows"][0]) >= {"dispatch_uuid", "status", "created_at", "_links"}


def test_list_filters_by_status(stack, account):
    completed = start_workflow(account, stack, messenger_then_sms("55", expiry=10))
    cancelled = start_workflow(account, stack, messenger_then_sms("02", expiry=10))
    account.delete(f"{stack.api_url}/v0.1/workflows/{cancelled}")
    wait_for_end(account, stack, completed)

    def listed(status: str) -> list[str]:
        page = account.get(f"{stack.api_url}/v0.1/workflows", params={"status": status}).json()
        return [w["dispatch_uuid"] for w in page["workflows"]]

    assert listed("completed") == [completed]
    assert listed("cancelled") == [cancelled]
    assert listed("error") == []


def test_the_listing_shows_only_the_callers_workflows(stack, api, account):
    mine = start_workflow(account, stack, messenger_then_sms("55", expiry=10))
    page = account.get(f"{stack.api_url}/v0.1/workflows").json()
    assert [w["dispatch_uuid"] for w in page["workflows"]] == [mine]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"status": "finished"}, "status"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_list_parameters_get_a_400_problem(stack, api, params, parameter):
    response = api.get(f"{stack.api_url}/v0.1/workflows", params=params)
    assert response.status_code == 400
    assert [p["name"] for p in response.json()["invalid_parameters"]] == [parameter]


def test_a_cursor_does_not_open_another_accounts_listing(stack, api, account):
    for _ in range(2):
        api.post(f"{stack.api_url}/v0.1/dispatch", json=messenger_then_sms("55", expiry=10))
    foreign_next = api.get(f"{stack.api_url}/v0.1/workflows", params={"page_size": 1}).json()["_links"][
        "next"
    ]

    response = account.get(f"{stack.api_url}{foreign_next['href']}")

    assert response.status_code == 400
