"""The API functions' resolver (dispatch.api.resolver): trailing slashes, and what a problem may
echo of the request."""

from __future__ import annotations

import json
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
