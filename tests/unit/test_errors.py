"""Domain errors and their problem bodies: each one is mapped once, in dispatch.api.resolver, and
a route that lets one escape answers with that problem (never a 500)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dispatch.api.openapi import openapi_document
from dispatch.api.resolver import PROBLEM_JSON, new_resolver, problem_for
from dispatch.domain import errors
from dispatch.domain.errors import DomainError

EVENTS = Path(__file__).resolve().parents[2] / "events"
DISPATCH_UUID = "0a32f954-9e9a-4650-b2a3-8cd6d6da6a9e"
BASE = "https://developer.vonage.com/api-errors"

# One instance of every domain error, with the status, type and detail it must answer with.
CASES: list[tuple[DomainError, int, str, str]] = [
    (errors.MalformedBody("The request body is not valid JSON."), 400, "bad-request", "not valid JSON"),
    (
        errors.InvalidWorkflowRequest([("workflow", "is required")]),
        400,
        "invalid-params",
        "The request failed due to validation errors",
    ),
    (
        errors.InvalidStatusWebhook([("status", "Input should be 'read'")]),
        400,
        "invalid-params",
        "validation errors",
    ),
    (errors.InvalidQuery([("page_size", "must be an integer")]), 400, "invalid-params", "validation errors"),
    (errors.InvalidIdempotencyKey(), 400, "invalid-params", "validation errors"),
    (errors.IdempotencyKeyReused(), 422, "invalid-params", "reused with the same request body"),
    (errors.BodyTooLarge(262144), 413, "payload-too-large", "at most 262144 bytes"),
    (errors.IdempotencyKeyInProgress(), 409, "conflict", "still in progress"),
    (errors.NotAuthenticated(), 401, "unauthorized", "You did not provide correct credentials."),
    (errors.NotAuthenticated("invalid_token"), 401, "unauthorized", "The bearer token is invalid"),
    (errors.NotAuthenticated("made-up"), 401, "unauthorized", "You did not provide correct credentials."),
    (errors.InvalidSignature("token is stale"), 401, "unauthorized", "not signed"),
    (errors.WorkflowNotFound(DISPATCH_UUID), 404, "not-found", f"No workflow '{DISPATCH_UUID}' in this"),
    (errors.WorkflowNotFound("x" * 8000), 404, "not-found", "No workflow '" + "x" * 64 + "…' in this"),
    (errors.MessageNotFound(DISPATCH_UUID), 404, "not-found", f"No message '{DISPATCH_UUID}' in this"),
    (errors.WorkflowFinished("completed"), 409, "conflict", "already ended (completed)"),
    (errors.WorkflowBusy(DISPATCH_UUID), 503, "service-unavailable", "try again"),
    (errors.WorkflowNotStarted(DISPATCH_UUID), 503, "service-unavailable", "nothing was sent"),
]


def _subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_subclasses(direct)}}


def test_every_domain_error_has_a_case() -> None:
    assert {type(error) for error, *_ in CASES} == _subclasses(DomainError) - {errors.InvalidParameters}


@pytest.mark.parametrize(("error", "status", "kind", "detail"), CASES, ids=lambda v: type(v).__name__)
def test_each_error_is_its_problem(error: DomainError, status: int, kind: str, detail: str) -> None:
    problem = problem_for(error)
    body = problem.body()

    assert (problem.status, body["type"]) == (status, f"{BASE}#{kind}")
    assert detail in body["detail"]
    schema = {"$ref": "#/components/schemas/Problem", "components": openapi_document()["components"]}
    Draft202012Validator(schema).validate(body)


def test_parameter_errors_keep_their_order_and_wording() -> None:
    error = errors.InvalidWorkflowRequest([("workflow[1].to.number", "is required"), ("template", "is bad")])
    assert problem_for(error).body()["invalid_parameters"] == [
        {"name": "workflow[1].to.number", "reason": "is required"},
        {"name": "template", "reason": "is bad"},
    ]


def _request(path: str) -> dict[str, Any]:
    event = json.loads((EVENTS / "openapi.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = f"GET {path}"
    return event


@pytest.mark.parametrize(("error", "status", "kind", "detail"), CASES[:3] + CASES[-3:])
def test_a_route_that_raises_a_domain_error_answers_its_problem(error, status, kind, detail) -> None:
    # Given: a route that lets the error escape, as every handler does
    app = new_resolver(authenticated=False)

    @app.get("/fails")
    def fails() -> None:
        raise error

    # When
    response = app.resolve(_request("/fails"), None)

    # Then
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == PROBLEM_JSON
    assert json.loads(response["body"])["type"] == f"{BASE}#{kind}"


def test_anything_else_is_a_500_problem_without_the_error_text() -> None:
    app = new_resolver(authenticated=False)

    @app.get("/fails")
    def fails() -> None:
        raise RuntimeError("447700900001 leaked")

    response = app.resolve(_request("/fails"), None)

    assert response["statusCode"] == 500
    assert "447700900001" not in response["body"]


def test_a_call_without_an_account_is_a_401_problem() -> None:
    # Given: an authenticated resolver and a request the authorizer let through without an account
    app = new_resolver()
    app.get("/mine")(lambda: {"ok": True})
    event = _request("/mine")
    event["requestContext"]["authorizer"] = {"lambda": {"auth_error": "unsupported_scheme"}}

    # When
    response = app.resolve(event, None)

    # Then
    assert response["statusCode"] == 401
    assert (
        json.loads(response["body"])["detail"] == "Use Basic api_key:api_secret credentials or a Bearer JWT."
    )
