"""RFC 7807-style problem bodies, shaped like the Vonage APIs' errors.

Which error gets which problem is decided in one place, dispatch.api.resolver.problem_for."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from dispatch.domain.errors import ParameterError

ERRORS_BASE = "https://developer.vonage.com/api-errors"


class Problem:
    """An error the API answers with: HTTP status plus a problem body. `instance` names this
    occurrence (clients quote it; our logs carry it)."""

    def __init__(
        self,
        *,
        status: int,
        title: str,
        detail: str,
        type: str = f"{ERRORS_BASE}#internal-error",
        invalid_parameters: Sequence[ParameterError] = (),
        instance: str | None = None,
    ) -> None:
        self.status, self.title, self.detail, self.type = status, title, detail, type
        self.invalid_parameters = list(invalid_parameters)
        self.instance = instance or str(uuid.uuid4())

    def body(self) -> dict[str, Any]:
        """The problem body, as `dispatch.api.schemas.Problem` (the OpenAPI document) declares it
        (tests/unit/test_response_contracts.py holds the two together)."""
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "detail": self.detail,
            "instance": self.instance,
        }
        if self.invalid_parameters:
            body["invalid_parameters"] = [
                {"name": error.name, "reason": error.reason} for error in self.invalid_parameters
            ]
        return body


# Dispatch v0.1 declares 400 for an invalid request (clients branch on it); Vonage's newer APIs use
# 422. Every validation problem gets its status here, and only here.
VALIDATION_STATUS = 400


def invalid_parameters(
    invalid: list[ParameterError], detail: str | None = None, *, status: int = VALIDATION_STATUS
) -> Problem:
    return Problem(
        status=status,
        type=f"{ERRORS_BASE}#invalid-params",
        title="Invalid request parameters",
        detail=detail or "The request failed due to validation errors",
        invalid_parameters=invalid,
    )


def bad_request(detail: str) -> Problem:
    return Problem(status=400, type=f"{ERRORS_BASE}#bad-request", title="Bad request", detail=detail)


def unauthorized(detail: str = "You did not provide correct credentials.") -> Problem:
    return Problem(status=401, type=f"{ERRORS_BASE}#unauthorized", title="Unauthorized", detail=detail)


def not_found(detail: str) -> Problem:
    return Problem(status=404, type=f"{ERRORS_BASE}#not-found", title="Not found", detail=detail)


def conflict(detail: str) -> Problem:
    return Problem(status=409, type=f"{ERRORS_BASE}#conflict", title="Conflict", detail=detail)


def internal_error() -> Problem:
    return Problem(
        status=500,
        type=f"{ERRORS_BASE}#internal-error",
        title="Internal error",
        detail="Something went wrong on our side. Quote the instance id if you contact us.",
    )


def service_unavailable(detail: str) -> Problem:
    return Problem(
        status=503, type=f"{ERRORS_BASE}#service-unavailable", title="Service unavailable", detail=detail
    )


def payload_too_large(limit_bytes: int) -> Problem:
    return Problem(
        status=413,
        type=f"{ERRORS_BASE}#payload-too-large",
        title="Payload too large",
        detail=f"The request body must be at most {limit_bytes} bytes.",
    )


MAX_ECHO_LENGTH = 64


def echo(value: str) -> str:
    """A submitted value as a detail may quote it: at most MAX_ECHO_LENGTH characters of it."""
    return value if len(value) <= MAX_ECHO_LENGTH else value[:MAX_ECHO_LENGTH] + "…"
