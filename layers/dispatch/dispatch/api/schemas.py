"""The API's response bodies as pydantic models.

Every response of the API functions is dumped through one of these models (`ResponseModel.body`),
and the OpenAPI document (dispatch.api.openapi) is generated from the same models, so what the API
answers and what the document says cannot drift. A field a response should carry is added here;
anything a handler passes that is not declared here is dropped from the response.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, Strict

from dispatch.domain.channels import Channel, ContentType
from dispatch.domain.status_updates import MAX_CHANNEL_LENGTH, MAX_MESSAGE_UUID_LENGTH, MAX_OBJECT_FIELDS
from dispatch.domain.statuses import (
    MAX_CLIENT_REF_LENGTH,
    MessageStatus,
    RecordResult,
    StepOutcome,
    WorkflowStatus,
)

Timestamp = Annotated[
    str,
    Field(
        json_schema_extra={"format": "date-time"},
        examples=["2025-01-02T03:04:05.000Z"],
        description="UTC, ISO 8601 with milliseconds",
    ),
]
DispatchUuid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]


class ResponseModel(BaseModel):
    """A response body. Absent values are left out of the JSON, never sent as null.

    Validators are built on first use: each function answers with one or two of these models,
    and building all of them would cost every cold start."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Link(ResponseModel):
    href: str = Field(examples=["/v0.1/workflows/0a32f954-9e9a-4650-b2a3-8cd6d6da6a9e"])


class SelfLinks(ResponseModel):
    self: Link


class PageLinks(ResponseModel):
    self: Link
    next: Link | None = Field(None, description="The next page; absent on the last page")


# --- create ------------------------------------------------------------------------------------------


class WorkflowCreated(ResponseModel):
    """`POST /v0.1/dispatch` and `POST /v0.1/workflows`: the new workflow's id."""

    dispatch_uuid: DispatchUuid


# --- one workflow ------------------------------------------------------------------------------------


class Usage(ResponseModel):
    """What the message cost, as the Messages API reported it."""

    currency: str = Field(examples=["EUR"])
    price: str = Field(examples=["0.0333"])


class SendError(ResponseModel):
    """Why the provider refused the send (no free text: it may quote the recipient)."""

    http_status: int | None = None
    type: str | None = None
    title: str | None = None
    instance: str | None = None
    detail: str | None = None
    invalid_parameters: list[str] | None = Field(None, description="Names of the refused parameters")


class StepView(ResponseModel):
    """One message of a workflow and its state (never its content or addresses)."""

    index: int = Field(ge=0)
    channel: Channel
    content_type: ContentType
    condition_status: Literal["delivered", "read"] | None = Field(
        None, description="Absent on the last step (it has no failover)"
    )
    expiry_time: int | None = Field(None, description="Seconds; absent on the last step")
    message_uuid: str | None = Field(None, description="Set once the Messages API accepted the message")
    sent_at: Timestamp | None = None
    status: MessageStatus | None = Field(None, description="The highest status received so far")
    status_at: Timestamp | None = None
    outcome: StepOutcome | None = Field(None, description="Absent while the step is undecided")
    outcome_at: Timestamp | None = None
    send_error: SendError | None = None
    usage: Usage | None = None


class WorkflowView(ResponseModel):
    """`GET /v0.1/workflows/{dispatch_uuid}`: a workflow with the state of each step."""

    dispatch_uuid: DispatchUuid
    template: Literal["failover"]
    status: WorkflowStatus
    created_at: Timestamp
    updated_at: Timestamp
    finished_at: Timestamp | None = Field(None, description="Absent while in progress")
    error_reason: str | None = Field(
        None,
        description="Why the workflow ended in error when no message status explains it "
        "(e.g. `execution failed (States.Runtime)`); absent otherwise",
    )
    current_step: int = Field(ge=0)
    workflow: list[StepView]
    links: SelfLinks = Field(alias="_links")


# --- one message -------------------------------------------------------------------------------------


class MessageError(ResponseModel):
    """Why the provider failed the message, as Dispatch v0.1 shapes it."""

    code: int | None = Field(None, examples=[1300])
    reason: str = Field(examples=["Not part of the provider network"])


class MessageLinks(ResponseModel):
    self: Link
    workflow: Link


class MessageView(ResponseModel):
    """`GET /v0.1/messages/{message_uuid}`: one message of a workflow (never its content or
    addresses), as the final report's `_links.messages[].href` names it."""

    message_uuid: str
    dispatch_uuid: DispatchUuid
    step: int = Field(ge=0, description="The message's index in its workflow")
    channel: Channel
    content_type: ContentType
    sent_at: Timestamp | None = Field(
        None, description="Absent when a status arrived before the send's answer"
    )
    status: MessageStatus | None = Field(None, description="The highest status received so far")
    status_at: Timestamp | None = None
    error: MessageError | None = Field(None, description="Set when the message was rejected or undeliverable")
    usage: Usage | None = None
    outcome: StepOutcome | None = Field(None, description="Absent while the step is undecided")
    outcome_at: Timestamp | None = None
    links: MessageLinks = Field(alias="_links")


# --- listing -----------------------------------------------------------------------------------------


class WorkflowSummary(ResponseModel):
    """A workflow in a listing: its state without its steps."""

    dispatch_uuid: DispatchUuid
    template: Literal["failover"]
    status: WorkflowStatus
    current_step: int = Field(ge=0)
    created_at: Timestamp
    updated_at: Timestamp
    finished_at: Timestamp | None = None
    links: SelfLinks = Field(alias="_links")


class WorkflowPage(ResponseModel):
    """`GET /v0.1/workflows`: a page of the account's workflows, newest first."""

    page_size: int = Field(ge=1)
    workflows: list[WorkflowSummary]
    links: PageLinks = Field(alias="_links")


# --- errors ------------------------------------------------------------------------------------------


class InvalidParameter(ResponseModel):
    name: str = Field(examples=["workflow[0].failover.expiry_time"])
    reason: str = Field(examples=["must be between 15 and 86400 seconds"])


class Problem(ResponseModel):
    """An error (`application/problem+json`, RFC 7807 as the Vonage APIs shape it)."""

    type: str = Field(examples=["https://developer.vonage.com/api-errors#invalid-params"])
    title: str = Field(examples=["Invalid request parameters"])
    detail: str
    instance: str = Field(description="Quote it when you report a problem")
    invalid_parameters: list[InvalidParameter] | None = Field(
        None, description="Every invalid parameter (validation errors only)"
    )


class GatewayMessage(ResponseModel):
    """An error API Gateway answers itself, before any function runs (e.g. no credentials)."""

    message: str = Field(examples=["Unauthorized"])


# --- the status webhook ------------------------------------------------------------------------------


class StatusWebhook(BaseModel):
    """A Messages API v1 status webhook (only the fields we use; others are ignored).

    The document's description of what `POST /webhooks/message-status` accepts. The function
    itself parses bodies by hand (dispatch.domain.status_updates.parse_status_webhook, to keep
    pydantic off its cold start); tests/unit/test_status_webhook_schema.py checks that both accept
    and refuse the same bodies."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    message_uuid: Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_UUID_LENGTH)]
    status: MessageStatus
    # An ISO 8601 string, as documented (pydantic alone would also take a number of seconds).
    timestamp: Annotated[AwareDatetime, Strict()]
    channel: Annotated[str, Field(max_length=MAX_CHANNEL_LENGTH)] | None = None
    client_ref: Annotated[str, Field(max_length=MAX_CLIENT_REF_LENGTH)] | None = None
    error: Annotated[dict[str, Any], Field(max_length=MAX_OBJECT_FIELDS)] | None = None
    usage: Annotated[dict[str, Any], Field(max_length=MAX_OBJECT_FIELDS)] | None = None


class StatusRecorded(ResponseModel):
    """`POST /webhooks/message-status`: what became of the status."""

    result: RecordResult
