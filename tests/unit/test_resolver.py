"""The API functions' router (dispatch.api.resolver): routes, trailing slashes, the answer's shape,
what a problem may echo of the request, and what the API edge does not import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dispatch.api.problems import MAX_ECHO_LENGTH
from dispatch.api.resolver import json_response, new_resolver, owned_workflow, problem_for
from dispatch.domain.errors import WorkflowNotFound


def event(method: str, path: str, *, account_id: str | None = "acct") -> dict[str, Any]:
    """A minimal HTTP API (payload 2.0) event."""
    context: dict[str, Any] = {"http": {"method": method, "path": path}, "stage": "$default"}
    if account_id:
        context["authorizer"] = {"lambda": {"account_id": account_id}}
    return {"version": "2.0", "rawPath": path, "requestContext": context, "headers": {}}


@pytest.fixture
def app():
    app = new_resolver()

    @app.post("/v0.1/dispatch")
    def create():
        return json_response(202, {"route": "create"})

    @app.get("/v0.1/workflows/<dispatch_uuid>")
    def get(dispatch_uuid: str):
        return json_response(200, {"route": "get", "dispatch_uuid": dispatch_uuid})

    return app


@pytest.mark.parametrize("path", ["/v0.1/dispatch", "/v0.1/dispatch/"])
def test_a_static_route_answers_with_and_without_a_trailing_slash(app, path):
    response = app.resolve(event("POST", path), {})
    assert (response["statusCode"], json.loads(response["body"])) == (202, {"route": "create"})


@pytest.mark.parametrize("path", ["/v0.1/workflows/abc", "/v0.1/workflows/abc/"])
def test_a_route_with_a_parameter_answers_with_and_without_a_trailing_slash(app, path):
    response = app.resolve(event("GET", path), {})
    assert json.loads(response["body"]) == {"route": "get", "dispatch_uuid": "abc"}


@pytest.mark.parametrize("path", ["/v0.1/workflows/", "/v0.1/dispatch/x", "/v0.1/dispatchx"])
def test_other_paths_are_still_no_route(app, path):
    response = app.resolve(event("GET" if "workflows" in path else "POST", path), {})
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/problem+json"


class Workflows:
    def get(self, dispatch_uuid: str) -> None:
        return None


def test_a_not_found_detail_echoes_at_most_64_characters_of_the_id(app):
    app.resolve(event("GET", "/v0.1/workflows/x"), {})  # makes the event current
    with pytest.raises(WorkflowNotFound) as raised:
        owned_workflow(app, Workflows(), "x" * 8192)  # type: ignore[arg-type]
    problem = problem_for(raised.value)
    detail = problem.detail
    assert problem.status == 404
    assert "x" * MAX_ECHO_LENGTH in detail and "x" * (MAX_ECHO_LENGTH + 1) not in detail
    assert len(detail) < MAX_ECHO_LENGTH + 40


# -- what Powertools' resolver did and this router keeps doing --------------------------------------


def test_an_answer_has_the_fields_an_http_api_expects(app):
    response = app.resolve(event("POST", "/v0.1/dispatch"), {})
    assert response == {
        "statusCode": 202,
        "body": json.dumps({"route": "create"}),
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json"},
        "cookies": [],
    }


def test_extra_headers_are_answered_beside_the_content_type():
    app = new_resolver(authenticated=False)
    app.get("/cached")(lambda: json_response(200, {}, headers={"Cache-Control": "max-age=300"}))
    headers = app.resolve(event("GET", "/cached"), {})["headers"]
    assert headers == {"Cache-Control": "max-age=300", "Content-Type": "application/json"}


def test_a_route_returning_a_dict_answers_200_json():
    app = new_resolver(authenticated=False)
    app.get("/plain")(lambda: {"ok": True})
    response = app.resolve(event("GET", "/plain"), {})
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"ok": True})


def test_a_known_path_with_another_method_is_no_route(app):
    response = app.resolve(event("DELETE", "/v0.1/dispatch"), {})
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["detail"] == "No such route."


def test_a_named_stage_is_not_part_of_the_routed_path(app):
    request = event("GET", "/prod/v0.1/workflows/abc")
    request["requestContext"]["stage"] = "prod"
    assert json.loads(app.resolve(request, {})["body"]) == {"route": "get", "dispatch_uuid": "abc"}


def test_only_a_whole_stage_segment_is_taken_off_the_path():
    app = new_resolver(authenticated=False)
    app.get("/prodx/echo")(lambda: {"route": "prodx"})
    request = event("GET", "/prodx/echo")
    request["requestContext"]["stage"] = "prod"
    assert json.loads(app.resolve(request, {})["body"]) == {"route": "prodx"}


def test_a_dot_in_a_rule_is_a_dot(app):
    assert app.resolve(event("POST", "/v0x1/dispatch"), {})["statusCode"] == 404


def test_an_authenticated_router_refuses_before_routing():
    app = new_resolver()
    app.get("/mine")(lambda: {"ok": True})
    for path in ("/mine", "/unknown"):
        assert app.resolve(event("GET", path, account_id=None), {})["statusCode"] == 401


def test_the_handler_sees_the_request_while_it_is_resolved_and_only_then():
    app = new_resolver(authenticated=False)
    seen = {}

    @app.get("/echo")
    def echo():
        current = app.current_event
        seen.update(key=current.headers.get("idempotency-key"), query=current.query_string_parameters)
        return {}

    request = event("GET", "/echo")
    request["headers"] = {"Idempotency-Key": "k-1"}  # API Gateway lowercases names; tests may not
    app.resolve(request, {})
    assert seen == {"key": "k-1", "query": {}}
    with pytest.raises(RuntimeError):
        _ = app.current_event


def test_an_error_in_a_route_leaves_no_request_behind():
    app = new_resolver(authenticated=False)

    @app.get("/fails")
    def fails():
        raise RuntimeError("boom")

    assert app.resolve(event("GET", "/fails"), {})["statusCode"] == 500
    with pytest.raises(RuntimeError):
        _ = app.current_event


def test_the_api_edge_imports_neither_powertools_event_handler_nor_callback_models():
    # Cold starts (issue 10): Powertools' event_handler package imports every resolver it has
    # (asyncio with them), and the callback models are only for the functions that publish.
    code = (
        "import sys, dispatch.api.resolver, dispatch.domain.ports, dispatch.domain.workflows; "
        "print(sorted(m for m in sys.modules if m.startswith(('aws_lambda_powertools.event_handler', "
        "'dispatch.integrations.callbacks'))))"
    )
    layer = Path(__file__).resolve().parents[2] / "layers" / "dispatch"
    env = {**os.environ, "PYTHONPATH": str(layer)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
