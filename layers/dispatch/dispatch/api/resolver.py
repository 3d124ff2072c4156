"""HTTP plumbing shared by the API functions: a small router for API Gateway HTTP API events
(payload 2.0) whose every error is a problem body (never a stack trace), and the caller's account
from the Lambda authorizer.

Not Powertools' APIGatewayHttpResolver: importing `aws_lambda_powertools.event_handler` loads
every resolver it has (AppSync, Bedrock, VPC Lattice; asyncio with them), about a third of a bare
boto3 function's cold start, for what is here a few lines. API Gateway has already matched the
route (each function serves one or two), so this only matches the path again, calls the route
and shapes its answer as Powertools does (same response fields, same trailing-slash rule).

Every domain error (dispatch.domain.errors) is mapped to its problem here, in `problem_for`, and
nowhere else: handlers let errors propagate to `HttpApi.resolve`."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

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


class Response(NamedTuple):
    status_code: int
    body: str
    content_type: str = "application/json"
    headers: Mapping[str, str] = MappingProxyType({})

    def as_http_api_result(self) -> dict[str, Any]:
        """The Lambda result an HTTP API (payload 2.0) expects, as Powertools builds it."""
        return {
            "statusCode": self.status_code,
            "body": self.body,
            "isBase64Encoded": False,
            "headers": {**self.headers, "Content-Type": self.content_type},
            "cookies": [],
        }


def json_response(status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status_code, json.dumps(body), headers=dict(headers or {}))


def problem_response(problem: Problem) -> Response:
    return Response(problem.status, json.dumps(problem.body()), content_type=PROBLEM_JSON)


class HttpEvent:
    """The parts of an HTTP API (payload 2.0) event the functions read."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        # API Gateway sends header names in lower case; a hand-made event may not.
        self.headers: dict[str, str] = {
            name.lower(): value for name, value in (raw.get("headers") or {}).items()
        }
        self.query_string_parameters: dict[str, str] = raw.get("queryStringParameters") or {}
        self.body: str | None = raw.get("body")
        self.is_base64_encoded: bool = bool(raw.get("isBase64Encoded"))
        self.request_context: dict[str, Any] = raw.get("requestContext") or {}

    @property
    def method(self) -> str:
        return str(self.request_context.get("http", {}).get("method", "")).upper()

    @property
    def path(self) -> str:
        """The path without the stage, as the routes are written (a named stage is in rawPath)."""
        path, stage = self.raw.get("rawPath") or "/", self.request_context.get("stage", "$default")
        if stage != "$default" and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
            return path[len(stage) + 1 :] or "/"
        return path

    @property
    def authorizer(self) -> dict[str, Any]:
        """What the Lambda authorizer returned as its context (empty when it identified no one)."""
        return (self.request_context.get("authorizer") or {}).get("lambda") or {}


Route = Callable[..., Response | dict[str, Any]]


class HttpApi:
    """Routes `@app.get("/v0.1/workflows/<dispatch_uuid>")`-style rules, like Powertools' resolver.

    A rule also matches its path with a trailing slash, as API Gateway does (it matches `/path/`
    to the route `/path` and passes the path on unchanged); clients generated from a server URL
    ending in `/` call so. A route returns a Response (or a dict, answered as 200 JSON)."""

    def __init__(self, *, authenticated: bool) -> None:
        self.authenticated = authenticated
        self.routes: list[tuple[str, re.Pattern[str], Route]] = []
        self._event: HttpEvent | None = None

    @property
    def current_event(self) -> HttpEvent:
        if self._event is None:
            raise RuntimeError("no request is being resolved")
        return self._event

    def route(self, method: str, rule: str) -> Callable[[Route], Route]:
        # "/v0.1/workflows/<dispatch_uuid>": literal text, then a parameter, then literal text...
        parts = re.split(r"<(\w+)>", rule.rstrip("/") or "/")
        pattern = "".join(
            f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
        )
        compiled = re.compile(f"^{pattern}/*$")

        def register(function: Route) -> Route:
            self.routes.append((method, compiled, function))
            return function

        return register

    def get(self, rule: str) -> Callable[[Route], Route]:
        return self.route("GET", rule)

    def post(self, rule: str) -> Callable[[Route], Route]:
        return self.route("POST", rule)

    def delete(self, rule: str) -> Callable[[Route], Route]:
        return self.route("DELETE", rule)

    def resolve(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        self._event = HttpEvent(event)
        try:
            return self._answer(self._event).as_http_api_result()
        finally:
            self._event = None

    def _answer(self, event: HttpEvent) -> Response:
        try:
            if self.authenticated:
                _require_account(event)
            for method, pattern, function in self.routes:
                match = pattern.match(event.path) if method == event.method else None
                if match:
                    result = function(**match.groupdict())
                    return result if isinstance(result, Response) else json_response(200, result)
            return problem_response(not_found("No such route."))
        except DomainError as error:
            return _refusal(error)
        except Exception:
            problem = internal_error()
            logger.exception("Unexpected error", extra={"instance": problem.instance})
            return problem_response(problem)


def new_resolver(*, authenticated: bool = True) -> HttpApi:
    """A router whose errors are problem bodies. Routes need an account unless it is built with
    `authenticated=False` (only for routes signed some other way, like webhooks)."""
    return HttpApi(authenticated=authenticated)


def _refusal(error: DomainError) -> Response:
    problem = problem_for(error)
    extra = {"status": problem.status, "instance": problem.instance, "error": type(error).__name__}
    if isinstance(error, InvalidSignature):
        # Worth a warning: someone posts statuses without the signature secret.
        logger.warning("Rejected an unsigned or badly signed request", extra={**extra, "reason": str(error)})
    else:
        logger.info("Request refused", extra=extra)
    return problem_response(problem)


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


def _require_account(event: HttpEvent) -> None:
    # The authorizer lets refused credentials through without an account, so that the refusal
    # is a 401 problem body here (an HTTP API authorizer's own denial is a bare 403).
    if not event.authorizer.get("account_id"):
        raise NotAuthenticated(event.authorizer.get("auth_error") or "invalid_credentials")


AUTH_ERRORS = {
    "invalid_credentials": "You did not provide correct credentials.",
    "invalid_token": "The bearer token is invalid, expired, or signed by an unknown application.",
    "unsupported_scheme": "Use Basic api_key:api_secret credentials or a Bearer JWT.",
}


def caller_account_id(app: HttpApi) -> str:
    """The account the Lambda authorizer identified."""
    account_id = app.current_event.authorizer.get("account_id")
    if not account_id:
        raise NotAuthenticated()
    return account_id


def request_body(app: HttpApi) -> bytes:
    """The raw request body as bytes (API Gateway base64-encodes bodies that are not UTF-8)."""
    event = app.current_event
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode()


def status_webhook_url(app: HttpApi) -> str:
    """Where the Messages API should post statuses: this same API, as the caller reached it."""
    event = app.current_event
    scheme = event.headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{event.request_context.get('domainName')}/webhooks/message-status"


def owned_workflow(app: HttpApi, workflows: WorkflowStore, dispatch_uuid: str) -> dict[str, Any]:
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
