"""The HTTP API as a client sees it: routes, authentication, tenancy, problem bodies."""

from __future__ import annotations

import uuid

import pytest
import requests

from local_stack.demo import text_step
from tests.integration.helpers import recipient

AUTHENTICATED_ROUTES = [
    ("POST", "/v0.1/dispatch"),
    ("POST", "/v0.1/workflows"),
    ("GET", f"/v0.1/workflows/{uuid.uuid4()}"),
]

VALID = {
    "template": "failover",
    "workflow": [
        text_step("messenger", "4200000000000055", "Hi", {"expiry_time": 30, "condition_status": "read"}),
        text_step("sms", "447700900155", "Hi by SMS"),
    ],
}


def test_create_answers_202_with_a_dispatch_uuid_on_both_paths(stack, api):
    for path in ("/v0.1/dispatch", "/v0.1/workflows"):
        response = api.post(f"{stack.api_url}{path}", json=VALID)
        assert response.status_code == 202
        assert uuid.UUID(response.json()["dispatch_uuid"])


def test_get_shows_the_workflow_and_its_steps(stack, api):
    dispatch_uuid = api.post(f"{stack.api_url}/v0.1/dispatch", json=VALID).json()["dispatch_uuid"]

    workflow = api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").json()

    assert workflow["dispatch_uuid"] == dispatch_uuid
    assert workflow["template"] == "failover"
    assert workflow["status"] in ("in_progress", "completed")
    assert workflow["created_at"].endswith("Z")
    first, last = workflow["workflow"]
    assert (first["channel"], first["condition_status"], first["expiry_time"]) == ("messenger", "read", 30)
    assert last["channel"] == "sms" and "condition_status" not in last
    assert workflow["_links"]["self"]["href"] == f"/v0.1/workflows/{dispatch_uuid}"


def test_a_call_without_credentials_is_refused_by_api_gateway(stack):
    # No Authorization header: API Gateway answers itself, before any function runs.
    for method, path in AUTHENTICATED_ROUTES:
        response = requests.request(method, f"{stack.api_url}{path}", json=VALID)
        assert response.status_code == 401, (method, path)


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dGVzdC1rZXk6d3Jvbmc=",  # test-key:wrong
        "Basic bm9ib2R5Om5vdGhpbmc=",  # an unknown api key
        "Basic not-base64!",
        "Bearer abc.def.ghi",
        "Digest whatever",
    ],
)
def test_wrong_credentials_get_a_401_problem_on_every_route(stack, authorization):
    for method, path in AUTHENTICATED_ROUTES:
        response = requests.request(
            method, f"{stack.api_url}{path}", json=VALID, headers={"Authorization": authorization}
        )
        assert response.status_code == 401, (method, path)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["title"] == "Unauthorized"


def test_a_workflow_is_invisible_to_other_accounts(stack, api):
    # Given a workflow of the test account and a second account
    dispatch_uuid = api.post(f"{stack.api_url}/v0.1/dispatch", json=VALID).json()["dispatch_uuid"]
    stack.create_account("other-key", "other-secret", account_id="other-account")

    # When the other account asks for it
    other = ("other-key", "other-secret")
    response = requests.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}", auth=other)

    # Then it is told the workflow does not exist, exactly as for a made-up id
    unknown = requests.get(f"{stack.api_url}/v0.1/workflows/{uuid.uuid4()}", auth=other)
    assert response.status_code == unknown.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert set(response.json()) >= {"type", "title", "detail", "instance"}


def test_invalid_workflow_gets_a_problem_listing_every_invalid_parameter(stack, api):
    body = {
        "template": "failover",
        "workflow": [
            {
                "from": {"type": "messenger", "id": "PAGE"},
                "to": {"type": "sms", "number": recipient("55")},
                "message": {"content": {"type": "text", "text": "x"}},
                "failover": {"expiry_time": 86401, "condition_status": "seen"},
            },
            text_step("sms", "447700900155", "Hi"),
        ],
    }

    response = api.post(f"{stack.api_url}/v0.1/dispatch", json=body)

    # 400, as the Dispatch v0.1 spec declares (clients branch on it)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    names = {p["name"] for p in problem["invalid_parameters"]}
    assert {"workflow[0].failover.expiry_time", "workflow[0].failover.condition_status"} <= names
    assert any(name.startswith("workflow[0].to") for name in names)
    assert problem["instance"] and problem["title"]


@pytest.mark.parametrize("body", [b"{not json", b"[]", b"", "\u00ff".encode("latin-1")])
def test_unreadable_bodies_get_a_400_problem_not_a_500(stack, api, body):
    response = api.post(
        f"{stack.api_url}/v0.1/dispatch", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["title"]


def test_nothing_is_started_for_an_invalid_workflow(stack, api):
    executions_before = _execution_count(stack)
    api.post(f"{stack.api_url}/v0.1/dispatch", json={"template": "failover", "workflow": []})
    assert _execution_count(stack) == executions_before


def test_get_with_a_malformed_id_is_a_404_problem(stack, api):
    response = api.get(f"{stack.api_url}/v0.1/workflows/not-a-uuid")
    assert response.status_code == 404
    assert response.json()["type"].endswith("#not-found")


def test_unknown_routes_are_404(stack, api):
    assert api.get(f"{stack.api_url}/v0.1/nothing-here").status_code == 404
    assert api.delete(f"{stack.api_url}/v0.1/dispatch").status_code == 404


def _execution_count(stack) -> int:
    stepfunctions = stack.client("stepfunctions")
    return len(stepfunctions.list_executions(stateMachineArn=stack.state_machine_arn)["executions"])


def test_an_account_created_with_the_admin_tool_can_use_the_api(stack, capsys):
    from admin.accounts import main as accounts_cli

    # Given an account created with the admin tool against the stack's table
    assert accounts_cli(["create", "--table", stack.table_name, "--endpoint-url", stack.moto_url]) == 0
    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines() if "=" in line)

    # When it creates a workflow with the printed credentials
    response = requests.post(
        f"{stack.api_url}/v0.1/dispatch", json=VALID, auth=(printed["api_key"], printed["api_secret"])
    )

    # Then it is accepted, and the secret was stored only as a hash
    assert response.status_code == 202
    stored = stack.client("dynamodb").get_item(
        TableName=stack.table_name, Key={"pk": {"S": f"APIKEY#{printed['api_key']}"}}
    )["Item"]
    assert printed["api_secret"] not in str(stored)
