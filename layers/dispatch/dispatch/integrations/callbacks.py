"""Callbacks to the customer: a signed status callback for every status of every message, and
one final report per workflow.

Producers (the status webhook, the state machine, cancel) put small *events*
(dispatch.integrations.callback_events) on an SQS FIFO queue, grouped by dispatch_uuid so that a
workflow's callbacks are delivered in order. Events hold ids and statuses only (no PII); the
delivery function builds the body from DynamoDB, signs it the way Vonage signs its webhooks, and
POSTs it. Timeouts, 429 and 5xx are retried with exponential backoff (by message visibility, not
by sleeping) for hours, then the event goes to a dead-letter queue. Delivery is at least once:
every body carries a stable `event_id`.

Callbacks only go to public addresses (dispatch.domain.destinations): the URL's name is resolved,
every address checked, and the connection made to the checked address. A URL aimed inward is
dead-lettered at once, with its reason, never retried.

The bodies are what dispatch.api.callbacks (the OpenAPI document's `webhooks`) declares.

Every workflow's final report goes through here, callback URL or not: the first time it is
stored is when the workflow's outcome is counted (metrics, see dispatch.domain.outcomes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

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
# Built field by field as the models of dispatch.api.callbacks (the OpenAPI document's) declare
# them: the same fields in the same order, absent values left out.


def _present(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _usage(value: dict[str, Any] | None) -> dict[str, str] | None:
    """callbacks.Usage: what a message cost, when the Messages API said."""
    if not value or "price" not in value or "currency" not in value:
        return None
    return {"currency": str(value["currency"]), "price": str(value["price"])}


def _total_usage(steps: list[dict[str, Any]]) -> dict[str, str] | None:
    usages = [u for u in (_usage(step.get("usage")) for step in steps) if u]
    if not usages:
        return None
    try:
        total = sum((Decimal(u["price"]) for u in usages), Decimal(0))
    except InvalidOperation:
        return None
    return {"currency": usages[0]["currency"], "price": str(total)}


def _timestamp(value: str) -> str:
    return iso(datetime.fromisoformat(value))


def _endpoint(value: dict[str, Any]) -> dict[str, Any]:
    """callbacks.Endpoint: `to` / `from` as the workflow was created with them (v0.1 shape)."""
    return _present(type=value["type"], number=value.get("number"), id=value.get("id"))


def status_callback_body(event: CallbackEvent, workflow: dict[str, Any]) -> dict[str, Any]:
    """callbacks.MessageStatusCallback: a message's status, as the Messages API reported it."""
    index = event.step_index or 0
    step, message = workflow["steps"][index], json.loads(workflow["messages"][index])
    error = step.get("status_error") if event.status in ("rejected", "undeliverable") else None
    reported = reported_error(error, event.status) if error else None
    dispatch_uuid = workflow["dispatch_uuid"]
    return _present(
        event_id=event.event_id,
        message_uuid=event.message_uuid or step.get("message_uuid") or "",
        to=_endpoint(message["to"]),
        **{"from": _endpoint(message["from"])},
        timestamp=_timestamp(event.timestamp or step.get("status_at") or iso(utc_now())),
        status=event.status,
        channel=step["channel"],
        error=reported and _present(code=reported["code"], reason=reported["reason"]),
        usage=_usage(step.get("usage")),
        _links={"workflow": {"href": f"/v0.1/workflows/{dispatch_uuid}", "dispatch_uuid": dispatch_uuid}},
    )


def final_report_body(event: CallbackEvent, workflow: dict[str, Any]) -> dict[str, Any]:
    """callbacks.FinalReport: sent once per workflow, when it ends."""
    steps = workflow["steps"]
    return _present(
        event_id=event.event_id,
        dispatch_uuid=workflow["dispatch_uuid"],
        template=workflow["template"],
        status=workflow["status"],
        error_reason=workflow.get("error_reason"),
        timestamp=_timestamp(workflow.get("finished_at") or workflow["updated_at"]),
        usage=_total_usage(steps),
        _links={
            "workflow": {"href": f"/v0.1/workflows/{workflow['dispatch_uuid']}"},
            "messages": [
                _present(
                    message_uuid=step.get("message_uuid"),
                    href=f"/v0.1/messages/{step['message_uuid']}" if step.get("message_uuid") else None,
                    channel=step["channel"],
                    status=step.get("status"),
                    outcome=step.get("outcome") or (None if step.get("send_state") else NOT_SENT),
                    usage=_usage(step.get("usage")),
                )
                for step in steps
            ],
        },
    )


# -- delivery -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What became of one delivery attempt. `skipped`: the workflow has no callback URL (its final
    report still counts its outcome); `dead_letter` is final, for a destination callbacks must
    never go to (the event is put on the dead-letter queue with `detail` as the reason)."""

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
