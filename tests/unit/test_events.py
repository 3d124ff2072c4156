"""events/*.json: one sample event per function, as API Gateway / Step Functions would send it
(`sam local invoke <Function> -e events/<function>.json`)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
)

from dispatch.api.examples import example_workflow
from dispatch.domain.credentials import parse_basic
from dispatch.domain.reconciliation import ExecutionStatusEvent
from dispatch.domain.status_updates import parse_status_webhook
from dispatch.domain.statuses import parse_client_ref
from dispatch.domain.workflow_request import parse_workflow_request
from local_stack.deploy import ROOT, code_directories, load_template

EVENTS = ROOT / "events"
FUNCTIONS = ROOT / "functions"
ASL = ROOT / "statemachine" / "workflow.asl.json"

# Event file -> the API route it is a request for.
API_EVENTS = {
    "create_workflow": "POST /v0.1/dispatch",
    "get_workflow": "GET /v0.1/workflows/{dispatch_uuid}",
    "get_message": "GET /v0.1/messages/{message_uuid}",
    "status_webhook": "POST /webhooks/message-status",
    "openapi": "GET /v0.1/openapi.json",
}
DEMO_ACCOUNT = "demo-account"
# Ofcom's drama range (07700 900000-900999): numbers that can never reach anyone.
_FAKE_NUMBER = re.compile(r"447700900\d{3}")


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def routes_by_directory() -> dict[str, set[str]]:
    """Function code directory name -> the "METHOD /path" route keys the template gives it."""
    template = load_template()
    directories = code_directories(template)
    routes: dict[str, set[str]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        routes[directories[logical_id].name] = {
            f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"
            for event in resource["Properties"].get("Events", {}).values()
            if event["Type"] == "HttpApi"
        }
    return routes


def test_there_is_one_event_per_function():
    functions = {path.parent.name for path in FUNCTIONS.glob("*/app.py")}
    events = {path.stem for path in EVENTS.glob("*.json")}

    assert functions
    assert events == functions


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda path: path.name)
def test_every_event_is_a_json_object(path: Path):
    assert isinstance(json.loads(path.read_text()), dict)


# --- HTTP API events ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(API_EVENTS))
def test_api_event_is_a_payload_2_0_request_for_its_functions_route(name, routes_by_directory):
    raw = load_event(name)
    event = APIGatewayProxyEventV2(raw)
    method, route = API_EVENTS[name].split(" ", 1)

    assert event.version == "2.0"
    assert event.route_key == event.request_context.route_key == API_EVENTS[name]
    assert API_EVENTS[name] in routes_by_directory[name]
    assert event.http_method == method
    # The concrete path is the route with each {parameter} filled in from pathParameters.
    assert event.path == event.raw_path == event.request_context.http.path
    assert event.path == route.format(**(event.path_parameters or {}))
    assert event.request_context.domain_name
    assert event.request_context.request_id
    assert raw["isBase64Encoded"] is False
    if method == "POST":
        assert event.headers["content-type"] == "application/json"
        assert json.loads(event.decoded_body)


@pytest.mark.parametrize("name", ["create_workflow", "get_workflow", "get_message"])
def test_account_routes_carry_the_authorizer_context(name):
    event = APIGatewayProxyEventV2(load_event(name))

    assert event.request_context.authorizer.get_lambda == {"account_id": DEMO_ACCOUNT}


def test_create_event_body_is_the_canonical_example():
    # The one example body of the project (dispatch/api/example_workflow.json), not a copy of it.
    event = APIGatewayProxyEventV2(load_event("create_workflow"))

    assert json.loads(event.decoded_body) == example_workflow()


def test_the_canonical_example_is_a_valid_messenger_then_sms_failover():
    request = parse_workflow_request(example_workflow())

    first, second = request.workflow
    assert (first.channel, second.channel) == ("messenger", "sms")
    assert first.message.content.type == second.message.content.type == "text"
    assert (first.failover.expiry_time, first.failover.condition_status) == (15, "read")
    assert second.failover is None


def test_get_event_names_a_workflow_by_uuid():
    event = APIGatewayProxyEventV2(load_event("get_workflow"))

    assert uuid.UUID(event.path_parameters["dispatch_uuid"])


def test_status_webhook_event_is_a_signed_status_for_the_first_step():
    event = APIGatewayProxyEventV2(load_event("status_webhook"))

    webhook = parse_status_webhook(event.decoded_body)

    assert webhook.status == "delivered"
    assert event.headers["authorization"].startswith("Bearer ")
    # Signed by the Messages API, not authorized by an account.
    assert not (event.raw_event["requestContext"].get("authorizer") or {})
    dispatch_uuid, step_index = parse_client_ref(webhook.client_ref)
    assert step_index == 0
    # The samples tell one story: the status is for the first message of the sample workflow.
    first = parse_workflow_request(APIGatewayProxyEventV2(load_event("create_workflow")).decoded_body)
    assert webhook.channel == first.workflow[0].channel
    assert dispatch_uuid == load_event("get_workflow")["pathParameters"]["dispatch_uuid"]


# --- authorizer --------------------------------------------------------------------------------------


def test_authorizer_event_is_a_payload_2_0_request_authorizer_event(routes_by_directory):
    raw = load_event("authorizer")
    event = APIGatewayAuthorizerEventV2(raw)

    assert event.version == "2.0"
    assert event.get_type == "REQUEST"
    assert event.identity_source == [event.headers["authorization"]]
    assert parse_basic(event.headers["authorization"]) == ("demo", "demo-secret")
    # An account route (the webhook has no authorizer), in the route ARN too.
    public_routes = routes_by_directory["status_webhook"] | routes_by_directory["openapi"]
    account_routes = set().union(*routes_by_directory.values()) - public_routes
    assert event.route_key in account_routes
    method, path = event.route_key.split(" ", 1)
    assert event.route_arn.endswith(f"/$default/{method}{path}")
    assert event.parsed_arn.region == "us-east-1"
    assert raw["requestContext"]["http"]["method"] == method


# --- Step Functions task -----------------------------------------------------------------------------


def test_send_message_event_is_the_task_input_the_state_machine_passes():
    event = load_event("send_message")
    send_state = json.loads(ASL.read_text())["States"]["Send message"]

    # SendTask in functions/send_message/app.py: importing it needs AWS settings, so check by hand.
    assert set(event) == {key.removesuffix(".$") for key in send_state["Parameters"]}
    assert set(event) == {"dispatch_uuid", "step_index"}
    assert isinstance(event["dispatch_uuid"], str) and 1 <= len(event["dispatch_uuid"]) <= 64
    assert type(event["step_index"]) is int and event["step_index"] >= 0
    assert event["dispatch_uuid"] == load_event("get_workflow")["pathParameters"]["dispatch_uuid"]


# --- EventBridge ----------------------------------------------------------------------------------------


def reconcile_rule_pattern() -> dict[str, Any]:
    function = load_template()["Resources"]["ReconcileExecutionFunction"]
    (rule,) = [e for e in function["Properties"]["Events"].values() if e["Type"] == "EventBridgeRule"]
    return rule["Properties"]["Pattern"]


def test_reconcile_event_is_a_failed_execution_of_the_sample_workflow_that_its_rule_matches():
    raw = load_event("reconcile_execution")
    event = ExecutionStatusEvent.from_event(raw)
    pattern = reconcile_rule_pattern()

    assert raw["source"] in pattern["source"]
    assert raw["detail-type"] in pattern["detail-type"]
    assert event.detail.status in pattern["detail"]["status"]
    # The execution is named by the workflow's dispatch_uuid, like every execution of the machine.
    assert event.detail.name == load_event("get_workflow")["pathParameters"]["dispatch_uuid"]
    assert event.detail.execution_arn.endswith(f":{event.detail.name}")
    assert raw["resources"] == [event.detail.execution_arn]
    assert json.loads(raw["detail"]["input"])["dispatch_uuid"] == event.detail.name


# --- sample data ---------------------------------------------------------------------------------------


def phone_numbers(value: Any) -> list[str]:
    """Every "number" field, also inside JSON-encoded bodies."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k == "number" and isinstance(v, str)]
        return found + [n for v in value.values() for n in phone_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in phone_numbers(v)]
    if isinstance(value, str) and value.startswith("{"):
        return phone_numbers(json.loads(value))
    return []


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda path: path.name)
def test_events_use_only_fictional_numbers(path: Path):
    for number in phone_numbers(json.loads(path.read_text())):
        assert _FAKE_NUMBER.fullmatch(number), number
