"""The OpenAPI document (dispatch.api.openapi): valid OpenAPI 3.1, the routes of template.yaml and no
others, and schemas that the bodies the code builds actually match."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from pydantic import BaseModel

from dispatch.api import problems, schemas
from dispatch.api.cursors import MAX_CURSOR_LENGTH
from dispatch.api.openapi import CREATE_EXAMPLE, OPENAPI_PATH, build_openapi_document, openapi_document
from dispatch.api.views import workflow_page, workflow_view
from dispatch.domain.create_body import (
    MAX_BODY_BYTES,
    MAX_BODY_DEPTH,
    MAX_CUSTOM_PROPERTIES,
    MAX_TEMPLATE_NAME_LENGTH,
    MAX_TEMPLATE_PARAMETER_LENGTH,
    MAX_TEMPLATE_PARAMETERS,
)
from dispatch.domain.errors import ParameterError
from dispatch.domain.workflow_request import parse_workflow_request
from local_stack.deploy import ROOT, load_template

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ACCOUNT_SECURITY = [{"basicAuth": []}, {"bearerAuth": []}]
DISPATCH_UUID = "0a32f954-9e9a-4650-b2a3-8cd6d6da6a9e"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def template_routes() -> dict[tuple[str, str], bool]:
    """(METHOD, path) of every HttpApi event in template.yaml -> whether it has an authorizer."""
    routes = {}
    for resource in load_template()["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                properties = event["Properties"]
                authorizer = properties.get("Auth", {}).get("Authorizer")
                routes[(properties["Method"].upper(), properties["Path"])] = authorizer != "NONE"
    return routes


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def schema_validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    """A JSON Schema validator for components.schemas[name], its $refs resolved in the document."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_matches(document: dict[str, Any], name: str, body: Any) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in schema_validator(document, name).iter_errors(body)
    ]
    assert errors == [], errors


# --- the document ---------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(document):
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["openapi"].startswith("3.1.")


def test_the_document_is_json_and_built_the_same_every_time(document):
    assert json.loads(json.dumps(document)) == build_openapi_document()


def test_the_document_has_exactly_the_routes_of_the_template(document):
    assert set(operations(document)) == set(template_routes())


def test_account_routes_ask_for_account_credentials_and_public_routes_do_not(document):
    for route, needs_account in template_routes().items():
        security = operations(document)[route].get("security", document["security"])
        if needs_account:
            assert security == ACCOUNT_SECURITY, route
        else:
            assert not {"basicAuth", "bearerAuth"} & {name for s in security for name in s}, route
    assert document["components"]["securitySchemes"]["bearerAuth"]["bearerFormat"] == "JWT"


def test_the_document_is_served_without_credentials(document):
    assert operations(document)[("GET", OPENAPI_PATH)]["security"] == []


def test_every_error_response_is_a_problem(document):
    for route, operation in operations(document).items():
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                content = response["content"]
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }, (route, status)


def test_create_routes_take_the_dispatch_body_and_an_idempotency_key(document):
    for path in ("/v0.1/dispatch", "/v0.1/workflows"):
        operation = document["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/WorkflowRequest"}
        assert [p["name"] for p in operation["parameters"]] == ["Idempotency-Key"]
        assert set(operation["responses"]) == {"202", "400", "401", "409", "413", "422", "503"}
        # Dispatch v0.1 declares 400 for an invalid body; 422 is only a reused Idempotency-Key.
        assert "Validation failed" in operation["responses"]["400"]["description"]
        assert "Idempotency-Key" in operation["responses"]["422"]["description"]


def test_no_route_declares_422_for_validation(document):
    for route, operation in operations(document).items():
        if "422" in operation["responses"]:
            assert route[0] == "POST" and route[1] in ("/v0.1/dispatch", "/v0.1/workflows"), route


def test_list_route_declares_its_query_parameters(document):
    parameters = {p["name"]: p for p in document["paths"]["/v0.1/workflows"]["get"]["parameters"]}

    assert set(parameters) == {"status", "page_size", "cursor"}
    assert all(p["in"] == "query" for p in parameters.values())
    assert set(parameters["status"]["schema"]["enum"]) == {"in_progress", "completed", "error", "cancelled"}
    page_size = parameters["page_size"]["schema"]
    assert (page_size["minimum"], page_size["maximum"], page_size["default"]) == (1, 100, 20)
    cursor = parameters["cursor"]["schema"]
    assert (cursor["minLength"], cursor["maxLength"]) == (1, MAX_CURSOR_LENGTH)
    assert set(document["paths"]["/v0.1/workflows"]["get"]["responses"]) == {"200", "400", "401"}


def test_the_message_route_answers_a_message_view_or_404(document):
    operation = document["paths"]["/v0.1/messages/{message_uuid}"]["get"]

    assert document["paths"]["/v0.1/messages/{message_uuid}"]["parameters"][0]["schema"]["format"] == "uuid"
    assert set(operation["responses"]) == {"200", "401", "404"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MessageView"
    }


# --- limits: declared, so that the fuzzer explores them --------------------------------------------


def schema_of(document: dict[str, Any], name: str, field: str) -> dict[str, Any]:
    """A property's schema, without the `null` alternative of an optional field."""
    schema = document["components"]["schemas"][name]["properties"][field]
    options = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
    return options[0]


def test_every_string_array_and_object_a_client_sends_is_bounded(document):
    # Every request-body field that would otherwise be unbounded declares its limit
    bounded = {
        ("Content", "text"): ("maxLength", 4096),
        ("Content", "custom"): ("maxProperties", MAX_CUSTOM_PROPERTIES),
        ("Template", "name"): ("maxLength", MAX_TEMPLATE_NAME_LENGTH),
        ("Template", "parameters"): ("maxItems", MAX_TEMPLATE_PARAMETERS),
        ("TemplateParameter", "default"): ("maxLength", MAX_TEMPLATE_PARAMETER_LENGTH),
        ("MessengerOptions", "tag"): ("maxLength", 100),
        ("WhatsappOptions", "locale"): ("maxLength", 35),
        ("workflow_request.Endpoint", "number"): ("maxLength", 50),
        ("WorkflowRequest", "workflow"): ("maxItems", 10),
        ("StatusWebhook", "message_uuid"): ("maxLength", 100),
        ("StatusWebhook", "client_ref"): ("maxLength", 100),
    }
    for (name, field), (keyword, limit) in bounded.items():
        assert schema_of(document, name, field)[keyword] == limit, (name, field)
    body = document["paths"]["/v0.1/dispatch"]["post"]["requestBody"]["description"]
    assert str(MAX_BODY_BYTES) in body and str(MAX_BODY_DEPTH) in body


def test_no_request_string_is_left_unbounded(document):
    # Strings of the request bodies: each has a maxLength, an enum, or a format that bounds it
    for name in (
        "WorkflowRequest",
        "WorkflowStep",
        "workflow_request.Endpoint",
        "Recipient",
        "Content",
        "Media",
        "CaptionedMedia",
        "Template",
        "TemplateParameter",
        "MessengerOptions",
        "WhatsappOptions",
        "ViberServiceOptions",
        "Failover",
    ):
        for field, schema in document["components"]["schemas"][name]["properties"].items():
            for option in schema.get("anyOf", [schema]):
                if option.get("type") == "string" and "enum" not in option and "const" not in option:
                    assert "maxLength" in option, (name, field)


# --- request bodies ----------------------------------------------------------------------------------


def test_the_sample_create_body_matches_the_request_schema(document):
    event = APIGatewayProxyEventV2(json.loads((ROOT / "events/create_workflow.json").read_text()))
    body = json.loads(event.decoded_body)

    assert_matches(document, "WorkflowRequest", body)
    step = document["components"]["schemas"]["WorkflowStep"]
    assert "from" in step["required"] and "from_" not in step["properties"]


def test_the_create_example_is_a_valid_request(document):
    # Swagger UI's "Try it out" starts from it: it must pass the handler's own validation.
    assert_matches(document, "WorkflowRequest", CREATE_EXAMPLE)
    request = parse_workflow_request(json.dumps(CREATE_EXAMPLE))
    assert [step.channel for step in request.workflow] == ["messenger", "sms"]


def test_the_request_schema_refuses_what_the_model_refuses(document):
    validator = schema_validator(document, "WorkflowRequest")

    assert not validator.is_valid({"template": "failover", "workflow": []})
    assert not validator.is_valid({"template": "other", "workflow": [{}]})


# --- responses: what the code builds matches the document ------------------------------------------


def workflow_item(**changes: Any) -> dict[str, Any]:
    item = {
        "pk": f"WORKFLOW#{DISPATCH_UUID}",
        "dispatch_uuid": DISPATCH_UUID,
        "account_id": "acct",
        "template": "failover",
        "status": "in_progress",
        "current_step": 0,
        "created_at": "2025-01-02T03:04:05.000Z",
        "updated_at": "2025-01-02T03:04:05.000Z",
        "expires_at": 1,
        "gsi1pk": "ACCOUNT#acct#WORKFLOWS",
        "gsi1sk": f"2025-01-02T03:04:05.000Z#{DISPATCH_UUID}",
        "steps": [
            {"channel": "messenger", "content_type": "text", "condition_status": "read", "expiry_time": 600},
            {"channel": "sms", "content_type": "text"},
        ],
        "messages": ["{}", "{}"],
    }
    item.update(changes)
    return item


def finished_item() -> dict[str, Any]:
    item = workflow_item(status="error", current_step=1, finished_at="2025-01-02T03:20:00+00:00")
    item["steps"][0].update(
        send_state="accepted",
        message_uuid="m-0",
        sent_at="2025-01-02T03:04:06.000Z",
        status="rejected",
        status_rank=4,
        status_at="2025-01-02T03:04:07.000Z",
        status_error={"type": "x", "title": "y"},
        outcome="rejected",
        outcome_at="2025-01-02T03:14:06.000Z",
        usage={"currency": "EUR", "price": "0.0333"},
    )
    item["steps"][1].update(
        send_state="failed",
        send_error={"http_status": 422, "title": "Invalid", "invalid_parameters": ["to"]},
        outcome="send_failed",
        outcome_at="2025-01-02T03:20:00.000Z",
    )
    return item


@pytest.mark.parametrize("item", [workflow_item(), finished_item()], ids=["new", "finished"])
def test_the_workflow_view_matches_its_schema(document, item):
    view = workflow_view(item)

    assert_matches(document, "WorkflowView", view)
    assert None not in [value for step in view["workflow"] for value in step.values()]


def test_the_workflow_view_shows_only_what_its_model_declares():
    view = workflow_view(finished_item())

    assert set(view["workflow"][0]) <= set(schemas.StepView.model_fields)
    assert "send_state" not in view["workflow"][1] and "status_rank" not in view["workflow"][0]
    assert view["finished_at"] == "2025-01-02T03:20:00.000Z"  # one timestamp format


def test_a_page_of_workflows_matches_its_schema(document):
    items = [workflow_item(), finished_item()]
    page = workflow_page(items, page_size=20, status=None, next_cursor=None)

    assert_matches(document, "WorkflowPage", page)
    assert [s["status"] for s in page["workflows"]] == ["in_progress", "error"]
    assert "steps" not in page["workflows"][0] and "next" not in page["_links"]


def test_the_created_body_matches_its_schema(document):
    assert_matches(document, "WorkflowCreated", schemas.WorkflowCreated(dispatch_uuid=DISPATCH_UUID).body())


@pytest.mark.parametrize(
    "problem",
    [
        problems.invalid_parameters([ParameterError("workflow", "is required")]),
        problems.not_found("No such workflow."),
        problems.internal_error(),
    ],
    ids=lambda problem: str(problem.status),
)
def test_problem_bodies_match_the_problem_schema(document, problem):
    body = problem.body()

    assert_matches(document, "Problem", body)
    assert ("invalid_parameters" in body) == (problem.type.endswith("#invalid-params"))


def test_response_schemas_never_declare_null():
    # Responses are dumped without None values, so the document promises absent, never null.
    text = json.dumps(
        {
            name: schema
            for name, schema in openapi_document()["components"]["schemas"].items()
            if name in {"WorkflowView", "StepView", "WorkflowSummary", "WorkflowPage", "Problem"}
        }
    )
    assert '"null"' not in text


# --- customer callbacks (webhooks) -------------------------------------------------------------------


class ExampleCallback(BaseModel):
    """An example callback."""

    event_id: str
    note: str | None = None


def test_the_webhooks_section_describes_each_callback_body():
    document = build_openapi_document(callbacks={"example": ExampleCallback})

    validate(document, cls=OpenAPIV31SpecValidator)
    operation = document["webhooks"]["example"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ExampleCallback"
    }
    assert operation["security"] == [{"signedWebhook": []}]
    assert set(document["components"]["schemas"]["ExampleCallback"]["properties"]) == {"event_id", "note"}


def test_without_callbacks_there_is_no_webhooks_section():
    document = build_openapi_document(callbacks={})

    validate(document, cls=OpenAPIV31SpecValidator)
    assert "webhooks" not in document


def test_the_served_document_has_the_message_status_and_final_report_callbacks(document):
    assert set(document["webhooks"]) == {"messageStatus", "finalReport"}


def test_models_of_one_name_are_told_apart_by_their_module(document):
    names = set(document["components"]["schemas"])

    # schemas.Usage (a step's cost) and callbacks.Usage (a callback's) are different models
    assert {"schemas.Usage", "callbacks.Usage"} <= names
    assert not [name for name in names if "__" in name or name.endswith(("-Input", "-Output"))]


def test_a_callback_model_cannot_take_the_name_of_a_response_model():
    class Problem(BaseModel):
        """Not the API's problem body."""

        detail: str

    with pytest.raises(ValueError, match="another model has its name"):
        build_openapi_document(callbacks={"clash": Problem})
