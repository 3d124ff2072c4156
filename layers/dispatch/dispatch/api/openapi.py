"""The OpenAPI 3.1 document of the API (`GET /v0.1/openapi.json`).

Generated, never written by hand: request bodies from the models the handlers parse with
(dispatch.domain.workflow_request.WorkflowRequest,
dispatch.domain.status_updates.StatusWebhook), responses from
the models every response is dumped through (dispatch.api.schemas), and the callbacks we POST to
customers from dispatch.integrations.callbacks. Only what no model can say is written here: the routes (a
unit test checks them against template.yaml), their parameters, status codes and security.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import DefsRef, GenerateJsonSchema, JsonSchemaMode, models_json_schema

from dispatch.api import schemas
from dispatch.api.callbacks import FinalReport, MessageStatusCallback
from dispatch.api.cursors import MAX_CURSOR_LENGTH
from dispatch.api.examples import example_workflow
from dispatch.api.resolver import IDEMPOTENCY_KEY_PATTERN, PROBLEM_JSON
from dispatch.domain.create_body import MAX_BODY_BYTES, MAX_BODY_DEPTH, MAX_STEPS
from dispatch.domain.statuses import WorkflowStatus
from dispatch.domain.workflow_request import WorkflowRequest
from dispatch.domain.workflows import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

OPENAPI_PATH = "/v0.1/openapi.json"
API_VERSION = "0.1"
JSON = "application/json"

# The canonical create body (tests check it passes validation): Messenger, read within 15 s or SMS.
# Swagger UI fills "Try it out" with it (a body generated from the schema would break the rules).
CREATE_EXAMPLE: dict[str, Any] = example_workflow()

# The callbacks we POST to the customer's callback URL: webhook name -> its body.
CUSTOMER_CALLBACKS: dict[str, type[BaseModel]] = {
    "messageStatus": MessageStatusCallback,
    "finalReport": FinalReport,
}


def _ref(model: type[Any] | str) -> dict[str, str]:
    name = model if isinstance(model, str) else model.__name__
    return {"$ref": f"#/components/schemas/{name}"}


# --- JSON Schemas of the models --------------------------------------------------------------------


class _ComponentSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema, minus per-field titles (noise next to the field names), and without
    `null` in what we send: every body we send is dumped with exclude_none, so a field is absent
    rather than null (what clients may send keeps its `null`, which pydantic accepts).

    Two models of one name (e.g. `Usage` of a response and of a callback) are told apart by their
    module, as `schemas.Usage` and `callbacks.Usage`."""

    def get_defs_ref(self, core_mode_ref: Any) -> DefsRef:
        defs_ref = super().get_defs_ref(core_mode_ref)
        qualified_name = core_mode_ref[0].rsplit(":", 1)[0]  # e.g. dispatch.integrations.callbacks.Usage
        if "[" not in qualified_name:  # not a generic
            module, _, name = qualified_name.rpartition(".")
            choices = self._prioritized_defsref_choices[defs_ref]
            choices.insert(1, DefsRef(f"{module.rpartition('.')[2]}.{name}"))
        return defs_ref

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: Any) -> dict[str, Any]:
        if self.mode == "serialization":
            return self.generate_inner(schema["schema"])
        return super().nullable_schema(schema)

    def default_schema(self, schema: Any) -> dict[str, Any]:
        if self.mode == "serialization" and schema.get("default", ...) is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


def component_schemas(models: list[tuple[type[BaseModel], JsonSchemaMode]]) -> dict[str, Any]:
    """`components.schemas` for the models (request bodies in validation mode, what we send in
    serialization mode), each model and every model it uses under its own name."""
    refs, definitions = models_json_schema(
        models, ref_template="#/components/schemas/{model}", schema_generator=_ComponentSchema
    )
    components = definitions.get("$defs", {})
    for (model, _), ref in refs.items():
        # The operations refer to these models by their own name: no other model may take it.
        if ref != _ref(model):
            raise ValueError(f"{model.__name__} is named {ref['$ref']}: another model has its name")
    return components


# --- building blocks of operations -----------------------------------------------------------------


def _json(model: type[BaseModel] | str, description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(model)}}, **extra}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _ref(schemas.Problem)}}}


UNAUTHORIZED = {
    "description": "Wrong credentials (a problem body), or no `Authorization` header at all "
    '(API Gateway\'s own `{"message": "Unauthorized"}`).',
    "content": {
        PROBLEM_JSON: {"schema": _ref(schemas.Problem)},
        JSON: {"schema": _ref(schemas.GatewayMessage)},
    },
}
NOT_FOUND = _problem("No such workflow in this account (another account's workflows are not found either).")
MESSAGE_NOT_FOUND = _problem(
    "No such message in this account (another account's messages are not found either)."
)
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the create safe to retry: for 24 hours the same key (per account) with the "
    "same body answers the first request's `dispatch_uuid` (with `Idempotent-Replayed: true`) and "
    "starts nothing; with another body it is a 422.",
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN, "minLength": 1, "maxLength": 255},
}
DISPATCH_UUID = {
    "name": "dispatch_uuid",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}
MESSAGE_UUID = {
    "name": "message_uuid",
    "in": "path",
    "required": True,
    "description": "As the Messages API answered the send (a step's `message_uuid`).",
    "schema": {"type": "string", "format": "uuid"},
}


def _create_operation(operation_id: str, summary: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["Workflows"],
        "parameters": [IDEMPOTENCY_KEY],
        "requestBody": {
            "required": True,
            "description": f"Dispatch v0.1: `template` failover and 1 to {MAX_STEPS} messages; every "
            "message but the last has `failover`. Unknown fields are ignored. At most "
            f"{MAX_BODY_BYTES} bytes, nested at most {MAX_BODY_DEPTH} levels deep (unknown fields "
            "included); each field's own limits are in the schema.",
            "content": {
                JSON: {
                    "schema": _ref(WorkflowRequest),
                    "examples": {"failover": {"summary": "Messenger, then SMS", "value": CREATE_EXAMPLE}},
                }
            },
        },
        "responses": {
            "202": _json(
                schemas.WorkflowCreated,
                "The workflow is stored and started.",
                headers={
                    "Idempotent-Replayed": {
                        "description": "Present on a replay of an earlier request with the same "
                        "Idempotency-Key: nothing new was started.",
                        "schema": {"type": "string", "enum": ["true"]},
                    }
                },
            ),
            "400": _problem(
                "Validation failed (`invalid_parameters` lists every invalid parameter, and the "
                "`Idempotency-Key` if malformed), or the body is not a JSON object or nests too deep."
            ),
            "401": UNAUTHORIZED,
            "409": _problem("A request with this Idempotency-Key is still in progress; retry shortly."),
            "413": _problem(f"The body is larger than {MAX_BODY_BYTES} bytes."),
            "422": _problem("The Idempotency-Key was already used with a different body."),
            "503": _problem("The workflow could not be started; nothing was sent. Try again."),
        },
    }


def _paths() -> dict[str, Any]:
    return {
        "/v0.1/dispatch": {
            "post": _create_operation("createDispatch", "Create a workflow (Dispatch v0.1 name)"),
        },
        "/v0.1/workflows": {
            "post": _create_operation("createWorkflow", "Create a workflow (Workflows name)"),
            "get": {
                "operationId": "listWorkflows",
                "summary": "List the account's workflows, newest first",
                "tags": ["Workflows"],
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "description": "Only workflows in this status.",
                        "schema": {"type": "string", "enum": [status.value for status in WorkflowStatus]},
                    },
                    {
                        "name": "page_size",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_PAGE_SIZE,
                            "default": DEFAULT_PAGE_SIZE,
                        },
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "Where to continue: from `_links.next` of the previous page. "
                        "Opaque and signed: it only continues the listing (account and `status`) "
                        "that issued it.",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_CURSOR_LENGTH,
                            "pattern": "^[A-Za-z0-9_-]+$",
                        },
                    },
                ],
                "responses": {
                    "200": _json(
                        schemas.WorkflowPage, "A page of workflows (`_links.next` while more follow)."
                    ),
                    "400": _problem("An invalid `status`, `page_size` or `cursor`."),
                    "401": UNAUTHORIZED,
                },
            },
        },
        "/v0.1/workflows/{dispatch_uuid}": {
            "parameters": [DISPATCH_UUID],
            "get": {
                "operationId": "getWorkflow",
                "summary": "A workflow and the state of each of its messages",
                "tags": ["Workflows"],
                "responses": {
                    "200": _json(schemas.WorkflowView, "The workflow (never message content or addresses)."),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                },
            },
            "delete": {
                "operationId": "cancelWorkflow",
                "summary": "Cancel a running workflow (idempotent)",
                "tags": ["Workflows"],
                "responses": {
                    "200": _json(schemas.WorkflowView, "The workflow as it ends: cancelled."),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "409": _problem("The workflow has already completed or failed."),
                    "503": _problem("The workflow kept changing while we cancelled it; try again."),
                },
            },
        },
        "/v0.1/messages/{message_uuid}": {
            "parameters": [MESSAGE_UUID],
            "get": {
                "operationId": "getMessage",
                "summary": "A message of a workflow and its state",
                "description": "What the final report's `_links.messages[].href` points at.",
                "tags": ["Workflows"],
                "responses": {
                    "200": _json(schemas.MessageView, "The message (never its content or addresses)."),
                    "401": UNAUTHORIZED,
                    "404": MESSAGE_NOT_FOUND,
                },
            },
        },
        "/webhooks/message-status": {
            "post": {
                "operationId": "receiveMessageStatus",
                "summary": "The Messages API's status webhook",
                "description": "Where the Messages API posts message statuses (each send names this "
                "URL). Signed by the Messages API, not authorized by an account.",
                "tags": ["Messages API"],
                "security": [{"signedWebhook": []}],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref(schemas.StatusWebhook)}}},
                "responses": {
                    "200": _json(
                        schemas.StatusRecorded, "The status was recorded, or ignored as stale or unknown."
                    ),
                    "400": _problem("The body is not valid JSON, or not a status webhook."),
                    "401": _problem("Not signed with the signature secret, or older than the accepted age."),
                },
            },
        },
        OPENAPI_PATH: {
            "get": {
                "operationId": "getOpenApiDocument",
                "summary": "This document",
                "tags": ["Documentation"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document of this API.",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def customer_webhooks(callbacks: Mapping[str, type[BaseModel]]) -> dict[str, Any]:
    """The `webhooks` section: what we POST to the customer's callback URL (webhook name -> body)."""
    return {
        name: {
            "post": {
                "operationId": f"{name}Callback",
                "summary": (model.__doc__ or name).strip().splitlines()[0],
                "tags": ["Callbacks"],
                "security": [{"signedWebhook": []}],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref(model)}}},
                "responses": {
                    "2XX": {"description": "Received. Anything else (or no answer) is retried with backoff."}
                },
            }
        }
        for name, model in callbacks.items()
    }


SECURITY_SCHEMES = {
    "basicAuth": {
        "type": "http",
        "scheme": "basic",
        "description": "`api_key:api_secret` of the account.",
    },
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT signed (RS256) with the private key of one of the account's applications; "
        "its `application_id` claim names the application.",
    },
    "signedWebhook": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Vonage-style signed webhook: an HS256 JWT signed with the signature secret, whose "
        "`payload_hash` claim is the SHA-256 of the body. The Messages API signs its statuses so; we "
        "sign our callbacks so, with the account's signature secret.",
    },
}


def build_openapi_document(callbacks: Mapping[str, type[BaseModel]] = CUSTOMER_CALLBACKS) -> dict[str, Any]:
    """The whole document; `callbacks` are the customer webhooks (name -> body model)."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (WorkflowRequest, "validation"),
        (schemas.StatusWebhook, "validation"),
        (schemas.WorkflowCreated, "serialization"),
        (schemas.WorkflowView, "serialization"),
        (schemas.WorkflowPage, "serialization"),
        (schemas.MessageView, "serialization"),
        (schemas.Problem, "serialization"),
        (schemas.GatewayMessage, "serialization"),
        (schemas.StatusRecorded, "serialization"),
        *((model, "serialization") for model in callbacks.values()),
    ]
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Workflows API",
            "version": API_VERSION,
            "summary": "Multi-channel messaging with failover, compatible with Vonage Dispatch v0.1.",
            "description": "Every route also answers with a trailing slash (`POST /v0.1/dispatch/`). "
            "Validation errors are 400 problem bodies listing every invalid parameter.",
            "license": {"name": "Apache 2.0", "identifier": "Apache-2.0"},
        },
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "tags": [
            {"name": "Workflows"},
            {"name": "Messages API", "description": "Called by the Messages API, not by customers."},
            {"name": "Documentation"},
        ],
        "paths": _paths(),
        "components": {"schemas": component_schemas(models), "securitySchemes": SECURITY_SCHEMES},
    }
    if callbacks:
        document["tags"].append({"name": "Callbacks", "description": "What we POST to your callback URL."})
        document["webhooks"] = customer_webhooks(callbacks)
    return document


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document, built once per process."""
    return build_openapi_document()
