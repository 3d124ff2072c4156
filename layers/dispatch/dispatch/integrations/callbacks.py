"""Callbacks to the customer: a signed status callback for every status of every message, and
one final report per workflow.

Producers (the status webhook, the state machine, cancel) put small *events* on an SQS FIFO
queue, grouped by dispatch_uuid so that a workflow's callbacks are delivered in order. Events
hold ids and statuses only (no PII); the delivery function builds the body from DynamoDB, signs
it the way Vonage signs its webhooks, and POSTs it. Timeouts, 429 and 5xx are retried with
exponential backoff (by message visibility, not by sleeping) for hours, then the event goes to a
dead-letter queue. Delivery is at least once: every body carries a stable `event_id`.

Callbacks only go to public addresses (dispatch.domain.destinations): the URL's name is resolved,
every address checked, and the connection made to the checked address. A URL aimed inward is
dead-lettered at once, with its reason, never retried.

Every workflow's final report goes through here, callback URL or not: the first time it is
stored is when the workflow's outcome is counted (metrics, see dispatch.domain.outcomes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from dispatch.clock import iso, utc_now
from dispatch.domain.destinations import ForbiddenDestination, address_kind, resolve_public_address
from dispatch.domain.status_errors import reported_error
from dispatch.integrations.callback_events import CallbackEvent
from dispatch.integrations.signatures import sign_webhook
from dispatch.observability import trace_http

if TYPE_CHECKING:
    import requests

# The final report's outcome of a message whose turn never came (the workflow ended before it).
NOT_SENT = "not_sent"


# -- bodies the customer receives ---------------------------------------------------------------
# Only the delivery function builds them (the producers import dispatch.integrations.callback_events).


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


def _usage(value: dict[str, Any] | None) -> Usage | None:
    if not value or "price" not in value or "currency" not in value:
        return None
    return Usage(currency=str(value["currency"]), price=str(value["price"]))


def _total_usage(steps: list[dict[str, Any]]) -> Usage | None:
    usages = [u for u in (_usage(step.get("usage")) for step in steps) if u]
    if not usages:
        return None
    try:
        total = sum((Decimal(u.price) for u in usages), Decimal(0))
    except InvalidOperation:
        return None
    return Usage(currency=usages[0].currency, price=str(total))


def _timestamp(value: str) -> str:
    return iso(datetime.fromisoformat(value))


def status_callback_body(event: CallbackEvent, workflow: dict[str, Any]) -> dict[str, Any]:
    index = event.step_index or 0
    step, message = workflow["steps"][index], json.loads(workflow["messages"][index])
    error = step.get("status_error") if event.status in ("rejected", "undeliverable") else None
    body = MessageStatusCallback(
        event_id=event.event_id,
        message_uuid=event.message_uuid or step.get("message_uuid") or "",
        to=Endpoint(**message["to"]),
        from_=Endpoint(**message["from"]),
        timestamp=_timestamp(event.timestamp or step.get("status_at") or iso(utc_now())),
        status=cast(Any, event.status),  # a message_status event has one; the model checks it
        channel=step["channel"],
        error=StatusError(**reported_error(error, event.status)) if error else None,
        usage=_usage(step.get("usage")),
        links=StatusLinks(
            workflow=WorkflowLink(
                dispatch_uuid=workflow["dispatch_uuid"], href=f"/v0.1/workflows/{workflow['dispatch_uuid']}"
            )
        ),
    )
    return body.model_dump(mode="json", by_alias=True, exclude_none=True)


def final_report_body(event: CallbackEvent, workflow: dict[str, Any]) -> dict[str, Any]:
    steps = workflow["steps"]
    report = FinalReport(
        event_id=event.event_id,
        dispatch_uuid=workflow["dispatch_uuid"],
        template=workflow["template"],
        status=workflow["status"],
        error_reason=workflow.get("error_reason"),
        timestamp=_timestamp(workflow.get("finished_at") or workflow["updated_at"]),
        usage=_total_usage(steps),
        links=ReportLinks(
            workflow=Link(href=f"/v0.1/workflows/{workflow['dispatch_uuid']}"),
            messages=[
                ReportedMessage(
                    message_uuid=step.get("message_uuid"),
                    href=f"/v0.1/messages/{step['message_uuid']}" if step.get("message_uuid") else None,
                    channel=step["channel"],
                    status=step.get("status"),
                    outcome=step.get("outcome") or (None if step.get("send_state") else NOT_SENT),
                    usage=_usage(step.get("usage")),
                )
                for step in steps
            ],
        ),
    )
    return report.model_dump(mode="json", by_alias=True, exclude_none=True)


# -- delivery -------------------------------------------------------------------------------------


class Delivery(BaseModel):
    """What became of one delivery attempt. `skipped`: the workflow has no callback URL (its final
    report still counts its outcome); `dead_letter` is final, for a destination callbacks must
    never go to (the event is put on the dead-letter queue with `detail` as the reason)."""

    model_config = ConfigDict(defer_build=True)

    outcome: Literal["delivered", "retry", "dropped", "skipped", "dead_letter"]
    detail: str = ""


def post_to_public_address(
    url: str, *, allow_loopback: bool = False, getaddrinfo: Callable[..., list] | None = None, **kwargs: Any
) -> requests.Response:
    """requests.post, but only to a public address, checked after DNS resolution and pinned for
    the connection; https, or http to loopback where loopback is allowed (the local stack).
    Raises ForbiddenDestination for an inward URL, requests.ConnectionError for a name that does
    not resolve (retried, like a receiver that is down)."""
    import requests

    from dispatch.integrations.pinned_http import post_to_address

    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise ForbiddenDestination("has a malformed host or port") from error
    if not host or parts.scheme not in ("http", "https"):
        raise ForbiddenDestination("must be an absolute https URL")
    try:
        address = resolve_public_address(host, port, allow_loopback=allow_loopback, getaddrinfo=getaddrinfo)
    except ForbiddenDestination:
        raise
    except OSError as error:
        raise requests.ConnectionError(f"cannot resolve the callback host: {error}") from error
    if parts.scheme == "http" and address_kind(ip_address(address)) != "loopback":
        raise ForbiddenDestination("must use https")
    return post_to_address(url, address, **kwargs)


def retry_delay(receive_count: int, *, base_seconds: int, max_seconds: int) -> int:
    """Exponential backoff by attempt: base, 2x base, 4x base, ... capped (SQS allows 12 h)."""
    return min(max_seconds, base_seconds * 2 ** max(0, receive_count - 1), 43_200)


def deliver(
    event: CallbackEvent,
    *,
    workflow: dict[str, Any] | None,
    account: dict[str, Any] | None,
    post: Callable[..., requests.Response],
    stored_report: Callable[[dict[str, Any]], tuple[dict[str, Any], bool]],
    on_first_report: Callable[[dict[str, Any]], None] | None = None,
    now: Callable[[], datetime] = utc_now,
) -> Delivery:
    """Build, sign and POST one callback. `stored_report` keeps the first final report built
    and returns (the report kept, whether it was this one), so every retry sends the same body
    even if a late status arrives meanwhile; `on_first_report(workflow)` runs once per workflow,
    when its report is first stored (with or without a callback URL)."""
    if workflow is None:
        return Delivery(outcome="dropped", detail="workflow no longer exists")
    body = None
    if event.kind == "final_report":
        body, first = stored_report(final_report_body(event, workflow))
        if first and on_first_report is not None:
            on_first_report(workflow)
    if account is None:
        return Delivery(outcome="dropped", detail="account no longer exists")
    url = workflow.get("callback_url")
    if not url:
        return Delivery(outcome="skipped", detail="no callback URL")
    if body is None:
        body = status_callback_body(event, workflow)
    import requests  # only the delivery function sends anything

    payload = json.dumps(body, separators=(",", ":")).encode()
    authorization = sign_webhook(
        payload,
        secret=account["signature_secret"],
        api_key=account.get("api_key", account["account_id"]),
        issued_at=int(now().timestamp()),
    )
    trace_http()
    try:
        response = post(
            url,
            data=payload,
            headers={"Content-Type": "application/json", "Authorization": authorization},
            timeout=(3.05, 10),
            allow_redirects=False,
        )
    except ForbiddenDestination as error:
        return Delivery(outcome="dead_letter", detail=f"callback URL {error}")
    except requests.RequestException as error:
        return Delivery(outcome="retry", detail=type(error).__name__)
    if 200 <= response.status_code < 300:
        return Delivery(outcome="delivered")
    if response.status_code == 429 or response.status_code >= 500:
        return Delivery(outcome="retry", detail=f"HTTP {response.status_code}")
    # The receiver refused this callback for good (4xx): retrying would not change its mind.
    return Delivery(outcome="dropped", detail=f"HTTP {response.status_code}")


def process_batch(
    records: list[dict[str, Any]],
    *,
    deliver_one: Callable[[CallbackEvent], Delivery],
    defer: Callable[[dict[str, Any], int], None],
    delay_for: Callable[[int], int],
) -> list[str]:
    """Deliver a batch from the FIFO queue; return the ids of the records to try again.

    A record that must be retried is deferred by its backoff delay, and so is every later
    record of the same workflow in the batch, so that a workflow's callbacks keep their order.
    """
    retry: list[str] = []
    deferred_groups: dict[str, int] = {}
    for record in records:
        attributes = record.get("attributes", {})
        group = attributes.get("MessageGroupId", "")
        delay = deferred_groups.get(group)
        if delay is None:
            try:
                outcome = deliver_one(CallbackEvent.from_json(record["body"])).outcome
            except Exception:  # e.g. DynamoDB unavailable: try again later, like a busy receiver
                outcome = "retry"
            if outcome != "retry":
                continue
            delay = deferred_groups[group] = delay_for(int(attributes.get("ApproximateReceiveCount", "1")))
        defer(record, delay)
        retry.append(record["messageId"])
    return retry
