"""What the service refuses, as exceptions that know nothing of HTTP.

The domain raises them; dispatch.api.resolver maps each one to its problem body (status, type,
title, detail) in one place, so no handler shapes an error itself. Messages never quote what a
client sent: message text and phone numbers are personal data, and errors end up in logs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class ParameterError(NamedTuple):
    """One invalid parameter: its name (e.g. `workflow[1].failover.expiry_time`) and why."""

    name: str
    reason: str


class DomainError(Exception):
    """Base of every refusal the API answers with a problem body."""


class MalformedBody(DomainError):
    """The body is not JSON, or not the JSON value expected (e.g. an array for an object)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BodyTooLarge(DomainError):
    """The request body is longer than the API takes (`limit_bytes`)."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(limit_bytes)
        self.limit_bytes = limit_bytes


class InvalidParameters(DomainError):
    """Parameters that fail validation, every one of them, in the order they are reported."""

    def __init__(self, errors: Iterable[tuple[str, str]]) -> None:
        self.errors = [ParameterError(name, reason) for name, reason in errors]
        super().__init__(", ".join(name for name, _ in self.errors))


class InvalidWorkflowRequest(InvalidParameters):
    """A create body that is not a valid Dispatch v0.1 workflow."""


class InvalidStatusWebhook(InvalidParameters):
    """A signed status webhook body that is not a Messages API status."""


class InvalidQuery(InvalidParameters):
    """Query parameters (e.g. of the listing) that are not valid."""


class InvalidIdempotencyKey(InvalidParameters):
    """An Idempotency-Key header that is not 1 to 255 visible ASCII characters."""

    def __init__(self) -> None:
        super().__init__([("Idempotency-Key", "must be 1 to 255 visible ASCII characters")])


class IdempotencyKeyReused(InvalidParameters):
    """An Idempotency-Key already used with another request body."""

    def __init__(self) -> None:
        super().__init__([("Idempotency-Key", "was already used with a different request body")])


class IdempotencyKeyInProgress(DomainError):
    """The first request with this Idempotency-Key is still running."""


class NotAuthenticated(DomainError):
    """No account: the credentials were refused. `reason` says why, as a key of
    dispatch.api.resolver.AUTH_ERRORS (see dispatch.domain.accounts.refusal_reason)."""

    def __init__(self, reason: str = "invalid_credentials") -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidSignature(DomainError):
    """The request is not signed by the holder of the signature secret, or is stale."""


class WorkflowNotFound(DomainError, LookupError):
    """No such workflow (in this account), or it has expired."""

    def __init__(self, dispatch_uuid: str) -> None:
        super().__init__(dispatch_uuid)
        self.dispatch_uuid = dispatch_uuid


class MessageNotFound(DomainError, LookupError):
    """No such message in this account's workflows (or its workflow has expired)."""

    def __init__(self, message_uuid: str) -> None:
        super().__init__(message_uuid)
        self.message_uuid = message_uuid


class WorkflowFinished(DomainError):
    """The workflow ended (completed or failed) before it could be cancelled."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class WorkflowBusy(DomainError):
    """The workflow kept changing while we tried to cancel it; trying again will do."""


class WorkflowNotStarted(DomainError):
    """The workflow was stored but its execution could not be started (so nothing was sent)."""
