"""Each function's configuration, as a pydantic model of its environment variables.

A handler builds its settings once, at import (`CreateWorkflowSettings.from_environ()`), so a
missing variable or a malformed number fails the function's start with a message that names the
variable, instead of a KeyError or a ValueError somewhere in a request. Field aliases are the
variable names that template.yaml sets (a unit test checks that it sets every required one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field

# A name or URL that must be set and not empty.
Required = Annotated[str, Field(min_length=1)]
Seconds = Annotated[int, Field(ge=1)]


class FunctionSettings(BaseModel):
    """What every function reads: the one DynamoDB table."""

    # The environment holds much else (AWS_*, POWERTOOLS_*, PATH...): ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)

    table_name: Required = Field(alias="TABLE_NAME")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings from `environ` (os.environ by default); a pydantic ValidationError
        naming each missing or malformed variable otherwise."""
        return cls.model_validate(dict(os.environ if environ is None else environ))


class AuthorizerSettings(FunctionSettings):
    pass


class GetWorkflowSettings(FunctionSettings):
    pass


class ListWorkflowsSettings(FunctionSettings):
    pass


class CreateWorkflowSettings(FunctionSettings):
    state_machine_arn: Required = Field(alias="STATE_MACHINE_ARN")
    retention_days: Annotated[int, Field(ge=1)] = Field(30, alias="RETENTION_DAYS")
    # Dispatch allows 15 s at least; only the local stack lowers it, so demos need not wait.
    min_expiry_time_seconds: Seconds = Field(15, alias="MIN_EXPIRY_TIME_SECONDS")
    # Only the local stack sets this: callbacks to a receiver on the same machine, over plain http.
    allow_http_loopback_callbacks: bool = Field(False, alias="ALLOW_HTTP_LOOPBACK_CALLBACKS")
    idempotency_hours: Annotated[int, Field(ge=1)] = Field(24, alias="IDEMPOTENCY_HOURS")

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)


class CancelWorkflowSettings(FunctionSettings):
    state_machine_arn: Required = Field(alias="STATE_MACHINE_ARN")
    callback_queue_url: Required = Field(alias="CALLBACK_QUEUE_URL")


class SendMessageSettings(FunctionSettings):
    messages_api_base_url: Required = Field(alias="MESSAGES_API_BASE_URL")
    messages_api_secret_name: Required = Field(alias="MESSAGES_API_SECRET_NAME")
    final_status_timeout_seconds: Seconds = Field(86400, alias="FINAL_STATUS_TIMEOUT_SECONDS")


class StatusWebhookSettings(FunctionSettings):
    webhook_signature_secret_name: Required = Field(alias="WEBHOOK_SIGNATURE_SECRET_NAME")
    webhook_max_age_seconds: Seconds = Field(300, alias="WEBHOOK_MAX_AGE_SECONDS")
    callback_queue_url: Required = Field(alias="CALLBACK_QUEUE_URL")


class DeliverCallbackSettings(FunctionSettings):
    callback_queue_url: Required = Field(alias="CALLBACK_QUEUE_URL")
    callback_retry_base_seconds: Seconds = Field(5, alias="CALLBACK_RETRY_BASE_SECONDS")
    callback_retry_max_seconds: Seconds = Field(900, alias="CALLBACK_RETRY_MAX_SECONDS")
    # Where a final refusal (a callback URL aimed inward) is kept with its reason.
    callback_dead_letter_queue_url: Required = Field(alias="CALLBACK_DEAD_LETTER_QUEUE_URL")
    # Only the local stack sets this: callbacks to a receiver on the same machine, over plain http.
    allow_http_loopback_callbacks: bool = Field(False, alias="ALLOW_HTTP_LOOPBACK_CALLBACKS")
