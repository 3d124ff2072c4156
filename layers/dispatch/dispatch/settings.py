"""Each function's configuration: a read-only object read from its environment variables.

A handler builds its settings once, at import (`CreateWorkflowSettings.from_environ()`), so a
missing variable or a malformed number fails the function's start with a message that names the
variable, instead of a KeyError or a ValueError somewhere in a request. Each field names the
variable that template.yaml sets (a unit test checks that it sets every required one).

Plain Python rather than a pydantic model: every function reads its settings at every cold start,
and on the hot path (status webhooks, sends) nothing else needs pydantic (docs/performance.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Self

from dispatch.integrations.signatures import DEFAULT_MAX_AGE_SECONDS

_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")  # ASCII digits: `\d` takes other scripts' too
# What a flag may be set to (case-insensitive), as pydantic and most tools read booleans.
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


class SettingsError(ValueError):
    """Variables missing or malformed: `errors` holds (variable, reason) for each one."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors))


def text(value: str) -> str:
    """A name or URL that must be set and not empty."""
    if not value:
        raise ValueError("must not be empty")
    return value


def positive_integer(value: str) -> int:
    """A whole number of at least 1 (seconds, days, hours)."""
    if not _INTEGER.fullmatch(value):
        raise ValueError("must be a whole number")
    if int(value) < 1:
        raise ValueError("must be at least 1")
    return int(value)


def flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in _TRUE | _FALSE:
        raise ValueError("must be true or false")
    return lowered in _TRUE


class Variable:
    """A setting read from environment variable `name` with `parse`, required unless it has a
    default. The value lives on each settings object; the class keeps how to read it."""

    def __init__(self, name: str, parse: Callable[[str], Any], default: Any) -> None:
        self.name, self.parse, self.default = name, parse, default

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


_REQUIRED = object()


def variable(name: str, parse: Callable[[str], Any] = text, default: Any = _REQUIRED) -> Any:
    """Declares a setting (typed by its annotation): `table_name: str = variable("TABLE_NAME")`."""
    return Variable(name, parse, default)


class FunctionSettings:
    """What every function reads: the one DynamoDB table. Read-only once read.

    Plain classes rather than dataclasses: a dataclass costs about a millisecond to define (it
    compiles its methods), and every function defines these at each cold start."""

    table_name: str = variable("TABLE_NAME")

    @classmethod
    def _settings(cls) -> dict[str, Variable]:
        """Attribute name -> its Variable, the base class's first."""
        found: dict[str, Variable] = {}
        for klass in reversed(cls.__mro__):
            found.update((name, value) for name, value in vars(klass).items() if isinstance(value, Variable))
        return found

    @classmethod
    def variables(cls) -> dict[str, bool]:
        """Each variable the settings read -> whether it is required."""
        return {setting.name: setting.required for setting in cls._settings().values()}

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings from `environ` (os.environ by default); a SettingsError naming each
        missing or malformed variable otherwise. Other variables (AWS_*, PATH...) are ignored."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for attribute, setting in cls._settings().items():
            if setting.name not in environ:
                if setting.required:
                    errors.append((setting.name, "is required"))
                values[attribute] = setting.default
                continue
            try:
                values[attribute] = setting.parse(environ[setting.name])
            except ValueError as error:
                errors.append((setting.name, str(error)))
        if errors:
            raise SettingsError(errors)
        settings = cls()
        settings.__dict__.update(values)
        return settings

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"settings are read-only: {name} cannot be set")

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({values})"


class AuthorizerSettings(FunctionSettings):
    pass


class GetWorkflowSettings(FunctionSettings):
    pass


class ListWorkflowsSettings(FunctionSettings):
    # The Secrets Manager secret whose value signs the listing's cursors (generated by the stack).
    cursor_secret_arn: str = variable("CURSOR_SECRET_ARN")


class GetMessageSettings(FunctionSettings):
    pass


class CreateWorkflowSettings(FunctionSettings):
    state_machine_arn: str = variable("STATE_MACHINE_ARN")
    retention_days: int = variable("RETENTION_DAYS", positive_integer, 30)
    # Dispatch allows 15 s at least; only the local stack lowers it, so demos need not wait.
    min_expiry_time_seconds: int = variable("MIN_EXPIRY_TIME_SECONDS", positive_integer, 15)
    # Only the local stack sets this: callbacks to a receiver on the same machine, over plain http.
    allow_http_loopback_callbacks: bool = variable("ALLOW_HTTP_LOOPBACK_CALLBACKS", flag, False)
    idempotency_hours: int = variable("IDEMPOTENCY_HOURS", positive_integer, 24)

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)


class CancelWorkflowSettings(FunctionSettings):
    state_machine_arn: str = variable("STATE_MACHINE_ARN")
    callback_queue_url: str = variable("CALLBACK_QUEUE_URL")


class SendMessageSettings(FunctionSettings):
    messages_api_base_url: str = variable("MESSAGES_API_BASE_URL")
    messages_api_secret_name: str = variable("MESSAGES_API_SECRET_NAME")
    final_status_timeout_seconds: int = variable("FINAL_STATUS_TIMEOUT_SECONDS", positive_integer, 86400)


class StatusWebhookSettings(FunctionSettings):
    webhook_signature_secret_name: str = variable("WEBHOOK_SIGNATURE_SECRET_NAME")
    # Providers retry a status with its original signature (Vonage: for 24 h); an hour's margin.
    # Statuses are idempotent and only move forward, so a late, validly signed one is harmless.
    webhook_max_age_seconds: int = variable(
        "WEBHOOK_MAX_AGE_SECONDS", positive_integer, DEFAULT_MAX_AGE_SECONDS
    )
    callback_queue_url: str = variable("CALLBACK_QUEUE_URL")


class ReconcileExecutionSettings(FunctionSettings):
    callback_queue_url: str = variable("CALLBACK_QUEUE_URL")


class DeliverCallbackSettings(FunctionSettings):
    callback_queue_url: str = variable("CALLBACK_QUEUE_URL")
    callback_retry_base_seconds: int = variable("CALLBACK_RETRY_BASE_SECONDS", positive_integer, 5)
    callback_retry_max_seconds: int = variable("CALLBACK_RETRY_MAX_SECONDS", positive_integer, 900)
    # Where a final refusal (a callback URL aimed inward) is kept with its reason.
    callback_dead_letter_queue_url: str = variable("CALLBACK_DEAD_LETTER_QUEUE_URL")
    # Only the local stack sets this: callbacks to a receiver on the same machine, over plain http.
    allow_http_loopback_callbacks: bool = variable("ALLOW_HTTP_LOOPBACK_CALLBACKS", flag, False)
