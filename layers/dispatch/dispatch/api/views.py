"""What the API shows of a workflow item: the bodies of GET, DELETE and the listing (never message
content, addresses or internals).

Each body is built field by field as its response model in dispatch.api.schemas (the OpenAPI
document's) declares it: the same fields in the same order, absent values left out, DynamoDB's
Decimals as integers. Plain Python rather than `Model.model_validate(...).model_dump()`, so that
reading a workflow does not import pydantic at every cold start (docs/performance.md);
tests/unit/test_response_contracts.py checks every body against its model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from dispatch.clock import iso
from dispatch.domain.status_errors import reported_error

# schemas.SendError's fields: the PII-free part of a refused send's problem body.
_SEND_ERROR_FIELDS = ("http_status", "type", "title", "instance", "detail", "invalid_parameters")


def workflow_view(item: dict[str, Any]) -> dict[str, Any]:
    """The GET representation (schemas.WorkflowView): status, times and each step's state."""
    dispatch_uuid = item["dispatch_uuid"]
    return _present(
        dispatch_uuid=dispatch_uuid,
        template=item["template"],
        status=item["status"],
        created_at=_time(item["created_at"]),
        updated_at=_time(item.get("updated_at", item["created_at"])),
        finished_at=_time(item.get("finished_at") or None),
        error_reason=item.get("error_reason") or None,
        current_step=_integer(item["current_step"]),
        workflow=[_step_view(index, step) for index, step in enumerate(item["steps"])],
        _links={"self": {"href": f"/v0.1/workflows/{dispatch_uuid}"}},
    )


def _step_view(index: int, step: dict[str, Any]) -> dict[str, Any]:
    """schemas.StepView: one message of a workflow and its state."""
    return _present(
        index=index,
        channel=step["channel"],
        content_type=step["content_type"],
        condition_status=step.get("condition_status"),
        expiry_time=_integer(step.get("expiry_time")),
        message_uuid=step.get("message_uuid"),
        sent_at=_time(step.get("sent_at")),
        status=step.get("status"),
        status_at=_time(step.get("status_at")),
        outcome=step.get("outcome"),
        outcome_at=_time(step.get("outcome_at")),
        send_error=_send_error(step.get("send_error")),
        usage=_usage(step.get("usage")),
    )


def workflow_summary(item: dict[str, Any]) -> dict[str, Any]:
    """schemas.WorkflowSummary: a workflow in a listing, its state without its steps."""
    return _present(
        dispatch_uuid=item["dispatch_uuid"],
        template=item["template"],
        status=item["status"],
        current_step=_integer(item["current_step"]),
        created_at=_time(item["created_at"]),
        updated_at=_time(item["updated_at"]),
        finished_at=_time(item.get("finished_at")),
        _links={"self": {"href": f"/v0.1/workflows/{item['dispatch_uuid']}"}},
    )


def workflow_page(
    items: list[dict[str, Any]], *, page_size: int, status: str | None, next_cursor: str | None
) -> dict[str, Any]:
    """schemas.WorkflowPage: a page of the listing, with the link to the next page (its signed
    cursor) while more follow."""
    query: dict[str, Any] = {"page_size": page_size, **({"status": status} if status else {})}
    links: dict[str, Any] = {"self": {"href": f"/v0.1/workflows?{urlencode(query)}"}}
    if next_cursor:
        links["next"] = {"href": f"/v0.1/workflows?{urlencode({**query, 'cursor': next_cursor})}"}
    return {
        "page_size": page_size,
        "workflows": [workflow_summary(item) for item in items],
        "_links": links,
    }


def message_view(workflow: dict[str, Any], step_index: int) -> dict[str, Any]:
    """`GET /v0.1/messages/{message_uuid}` (schemas.MessageView): the message's state (no
    content, no addresses)."""
    step = workflow["steps"][step_index]
    dispatch_uuid = workflow["dispatch_uuid"]
    error = reported_error(step["status_error"], step.get("status")) if step.get("status_error") else None
    return _present(
        message_uuid=step["message_uuid"],
        dispatch_uuid=dispatch_uuid,
        step=step_index,
        channel=step["channel"],
        content_type=step["content_type"],
        sent_at=_time(step.get("sent_at")),
        status=step.get("status"),
        status_at=_time(step.get("status_at")),
        error=error and _present(code=_integer(error.get("code")), reason=error["reason"]),
        usage=_usage(step.get("usage")),
        outcome=step.get("outcome"),
        outcome_at=_time(step.get("outcome_at")),
        _links={
            "self": {"href": f"/v0.1/messages/{step['message_uuid']}"},
            "workflow": {"href": f"/v0.1/workflows/{dispatch_uuid}"},
        },
    )


def _present(**fields: Any) -> dict[str, Any]:
    """The fields that have a value: an absent value is left out of the JSON, never null."""
    return {name: value for name, value in fields.items() if value is not None}


def _integer(value: Any) -> int | None:
    """A number as DynamoDB returns it (Decimal) as the integer the body declares."""
    return None if value is None else int(value)


def _time(value: str | None) -> str | None:
    """Timestamps written by the state machine ($$.State.EnteredTime) in the API's one format."""
    return None if value is None else iso(datetime.fromisoformat(value))


def _usage(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """schemas.Usage: what the message cost."""
    return None if not value else {"currency": value["currency"], "price": value["price"]}


def _send_error(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """schemas.SendError: why the provider refused the send, its known fields only."""
    if value is None:
        return None
    error = _present(**{name: value.get(name) for name in _SEND_ERROR_FIELDS})
    if "http_status" in error:
        error["http_status"] = _integer(error["http_status"])
    if "invalid_parameters" in error:
        error["invalid_parameters"] = list(error["invalid_parameters"])
    return error
