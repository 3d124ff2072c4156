"""The callbacks we POST to customers, as the OpenAPI document declares them (its `webhooks`):
a status callback for every status of every message, and one final report per workflow.

The delivery function builds these bodies by hand (dispatch.integrations.callbacks), without
pydantic at its cold start; tests/unit/test_response_contracts.py checks each body it builds
against these models. The module keeps the name `callbacks`: the document tells apart two models
of one name by their module (`callbacks.Usage`, `schemas.Usage`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CallbackBody(BaseModel):
    model_config = ConfigDict(defer_build=True)


class Usage(CallbackBody):
    currency: str
    price: str


class Endpoint(CallbackBody):
    """`to` / `from` as the workflow was created with them (v0.1 shape)."""

    model_config = ConfigDict(extra="allow")

    type: str
    number: str | None = None
    id: str | None = None


class StatusError(CallbackBody):
    """Why the message failed, as Dispatch v0.1 shapes it: `{"code": 1300, "reason": "..."}`."""

    code: int | None = Field(
        default=None, description="The Messages API error code (absent when the provider gave none)"
    )
    reason: str = Field(description="What the provider said, digits that could be a number masked")


class Link(CallbackBody):
    href: str


class WorkflowLink(Link):
    dispatch_uuid: str


class StatusLinks(CallbackBody):
    workflow: WorkflowLink


class MessageStatusCallback(CallbackBody):
    """A message's status, as the Messages API reported it, plus a link back to its workflow."""

    model_config = ConfigDict(populate_by_name=True)

    event_id: str = Field(description="Stable across retries: use it to drop duplicates.")
    message_uuid: str
    to: Endpoint
    from_: Endpoint = Field(alias="from")
    timestamp: str
    status: Literal["submitted", "delivered", "read", "rejected", "undeliverable"]
    channel: str
    error: StatusError | None = None
    usage: Usage | None = None
    links: StatusLinks = Field(alias="_links")


class ReportedMessage(CallbackBody):
    message_uuid: str | None = None
    href: str | None = None
    channel: str
    status: str | None = None
    outcome: str | None = Field(
        default=None,
        description="Why the workflow moved on (expired, send_failed, rejected, undeliverable), "
        "condition_met, cancelled, or not_sent (the workflow ended before this message's turn: "
        "it has no message_uuid).",
    )
    usage: Usage | None = None


class ReportLinks(CallbackBody):
    workflow: Link
    messages: list[ReportedMessage]


class FinalReport(CallbackBody):
    """Sent once per workflow when it ends."""

    model_config = ConfigDict(populate_by_name=True)

    event_id: str = Field(description="Stable across retries: use it to drop duplicates.")
    dispatch_uuid: str
    template: str
    status: Literal["completed", "error", "cancelled"]
    error_reason: str | None = Field(
        default=None, description="Why it ended in error when no message status explains it."
    )
    timestamp: str
    usage: Usage | None = Field(default=None, description="Total of the messages' usage.")
    links: ReportLinks = Field(alias="_links")
