"""HTTP plumbing shared by the API functions: a Powertools resolver whose every error is a
problem body (never a stack trace), and the caller's account from the Lambda authorizer.

Every domain error (dispatch.domain.errors) is mapped to its problem here, in `problem_for`, and
nowhere else: handlers let errors propagate to the resolver's exception handlers."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from dispatch.api.problems import (
    Problem,
    bad_request,
    conflict,
    echo,
    internal_error,
    invalid_parameters,
    not_found,
    payload_too_large,
    service_unavailable,
    unauthorized,
)
from dispatch.domain.errors import (
    BodyTooLarge,
    DomainError,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    InvalidParameters,
    InvalidSignature,
    MalformedBody,
    MessageNotFound,
    NotAuthenticated,
    WorkflowBusy,
    WorkflowFinished,
    WorkflowNotFound,
    WorkflowNotStarted,
)
from dispatch.domain.ports import WorkflowStore
from dispatch.observability import logger

PROBLEM_JSON = "application/problem+json"


def json_response(status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status_code, content_type="application/json", body=json.dumps(body), headers=headers
    )


def problem_response(problem: Problem) -> Response:
    return Response(status_code=problem.status, content_type=PROBLEM_JSON, body=json.dumps(problem.body()))


class TrailingSlashHttpResolver(APIGatewayHttpResolver):
    """An HTTP API resolver that also routes `/path/` to `/path`, as API Gateway itself does (it
    matches a trailing slash to the route without one and passes the path on unchanged), and as
    Powertools' REST API resolver does. Clients generated from a server URL ending in `/` call so."""

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "^{}/*$") -> re.Pattern[str]:
        return APIGatewayHttpResolver._compile_regex(rule.rstrip("/") or "/", base_regex)


def new_resolver(*, authenticated: bool = True) -> APIGatewayHttpResolver:
    """A resolver whose errors are problem bodies. Routes need an account unless the resolver is
    built with `authenticated=False` (only for routes signed some other way, like webhooks)."""
    app = TrailingSlashHttpResolver()
    if authenticated:
        app.use(middlewares=[_require_account])

    @app.exception_handler(DomainError)
    def handle_refusal(error: DomainError) -> Response:
        problem = problem_for(error)
        extra = {"status": problem.status, "instance": problem.instance, "error": type(error).__name__}
        if isinstance(error, InvalidSignature):
            # Worth a warning: someone posts statuses without the signature secret.
            logger.warning(
                "Rejected an unsigned or badly signed request", extra={**extra, "reason": str(error)}
            )
        else:
            logger.info("Request refused", extra=extra)
        return problem_response(problem)

    @app.not_found
    def handle_not_found(_: NotFoundError) -> Response:
        return problem_response(not_found("No such route."))

    @app.exception_handler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        problem = internal_error()
        logger.exception("Unexpected error", extra={"instance": problem.instance})
        return problem_response(problem)

    return app


def problem_for(error: DomainError) -> Problem:
    """The problem body the API answers a domain error with (the one place errors become HTTP)."""
    match error:
        case IdempotencyKeyReused():
            detail = "An Idempotency-Key can only be reused with the same request body."
            # Not a validation error: the body may be valid. 422 is what the IETF Idempotency-Key
            # draft asks for a key reused with another payload.
            return invalid_parameters(error.errors, detail=detail, status=422)
        case InvalidParameters():
            return invalid_parameters(error.errors)
        case MalformedBody():
            return bad_request(error.detail)
        case BodyTooLarge():
            return payload_too_large(error.limit_bytes)
        case NotAuthenticated():
            return unauthorized(AUTH_ERRORS.get(error.reason, AUTH_ERRORS["invalid_credentials"]))
        case InvalidSignature():
            return unauthorized("The status is not signed with this account's signature secret.")
        case WorkflowNotFound():
            return not_found(f"No workflow {echo(error.dispatch_uuid)!r} in this account.")
        case MessageNotFound():
            return not_found(f"No message {echo(error.message_uuid)!r} in this account.")
        case WorkflowFinished():
            return conflict(f"The workflow has already ended ({error.status}); it cannot be cancelled.")
        case IdempotencyKeyInProgress():
            return conflict("A request with this Idempotency-Key is still in progress; retry shortly.")
        case WorkflowBusy():
            return service_unavailable("The workflow was changing while we cancelled it; try again.")
        case WorkflowNotStarted():
            return service_unavailable("The workflow could not be started; nothing was sent. Try again.")
    return internal_error()


def _authorizer_context(app: APIGatewayHttpResolver) -> dict[str, Any]:
    return app.current_event.request_context.authorizer.get_lambda or {}


def _require_account(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    # The authorizer lets refused credentials through without an account, so that the refusal
    # is a 401 problem body here (an HTTP API authorizer's own denial is a bare 403).
    if not _authorizer_context(app).get("account_id"):
        raise NotAuthenticated(_authorizer_context(app).get("auth_error") or "invalid_credentials")
    return next_middleware(app)


AUTH_ERRORS = {
    "invalid_credentials": "You did not provide correct credentials.",
    "invalid_token": "The bearer token is invalid, expired, or signed by an unknown application.",
    "unsupported_scheme": "Use Basic api_key:api_secret credentials or a Bearer JWT.",
}


def caller_account_id(app: APIGatewayHttpResolver) -> str:
    """The account the Lambda authorizer identified."""
    account_id = _authorizer_context(app).get("account_id")
    if not account_id:
        raise NotAuthenticated()
    return account_id


def request_body(app: APIGatewayHttpResolver) -> bytes:
    """The raw request body as bytes (API Gateway base64-encodes bodies that are not UTF-8)."""
    event = app.current_event
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode()


def status_webhook_url(app: APIGatewayHttpResolver) -> str:
    """Where the Messages API should post statuses: this same API, as the caller reached it."""
    event = app.current_event
    scheme = event.headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{event.request_context.domain_name}/webhooks/message-status"


def owned_workflow(
    app: APIGatewayHttpResolver, workflows: WorkflowStore, dispatch_uuid: str
) -> dict[str, Any]:
    """The caller's workflow `dispatch_uuid`; another account's is as missing as a made-up id."""
    item = workflows.get(dispatch_uuid) if _is_uuid(dispatch_uuid) else None
    if item is None or item["account_id"] != caller_account_id(app):
        raise WorkflowNotFound(dispatch_uuid)
    return item


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# 1 to 255 visible ASCII characters (also the header's pattern in the OpenAPI document).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


def idempotency_key(header: str | None) -> str | None:
    """The request's Idempotency-Key (1 to 255 visible ASCII characters), if it sent one."""
    if header is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(header):
        raise InvalidIdempotencyKey()
    return header
