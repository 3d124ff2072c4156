"""Every body the API functions build by hand is exactly what its response model in
dispatch.api.schemas (what the OpenAPI document declares) would make of it: it validates, and
dumping the validated model gives the same JSON, the same fields in the same order, nothing null,
nothing extra.

The bodies are built without pydantic (dispatch.api.views, dispatch.api.problems, the status
webhook's answer) so that the API functions do not import it at every cold start
(docs/performance.md); these tests keep them to the document. Workflow items are generated with
what DynamoDB returns (Decimals) and the internals a view must never show.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from dispatch.api import callbacks, problems, schemas
from dispatch.api.views import message_view, workflow_page, workflow_summary, workflow_view
from dispatch.domain.errors import ParameterError
from dispatch.domain.statuses import RecordResult
from dispatch.integrations.callback_events import final_report_event, status_event
from dispatch.integrations.callbacks import final_report_body, status_callback_body

UUIDS = st.uuids().map(str)
# As we write them (milliseconds, Z) and as the state machine does ($$.State.EnteredTime).
TIMES = st.sampled_from(
    [
        "2025-01-02T03:04:05.000Z",
        "2025-01-02T03:04:05.123456Z",
        "2025-01-02T03:04:05Z",
        "2025-01-02T03:04:05+00:00",
    ]
)
NUMBERS = st.integers(0, 86400).map(Decimal)  # DynamoDB returns every number as a Decimal
TEXT = st.text(st.characters(codec="utf-8"), max_size=8)


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict holding any subset of `fields`."""
    return st.fixed_dictionaries({}, optional=fields)


SEND_ERRORS = optional(
    http_status=st.integers(400, 599).map(Decimal),
    type=TEXT,
    title=TEXT,
    instance=TEXT,
    detail=TEXT,
    invalid_parameters=st.lists(TEXT, max_size=3),
    recipient=TEXT,  # not a SendError field: never shown
)
USAGE = st.fixed_dictionaries(
    {"currency": st.sampled_from(["EUR", "USD"]), "price": st.decimals(0, 1, places=4).map(str)},
    optional={"network": TEXT},
)
STATUS_ERRORS = optional(code=st.one_of(NUMBERS, st.integers(0, 9999)), reason=TEXT, type=TEXT)


def steps() -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(
        st.fixed_dictionaries(
            {
                "channel": st.sampled_from(["messenger", "sms", "whatsapp", "viber_service_msg"]),
                "content_type": st.sampled_from(["text", "image", "template", "custom"]),
            }
        ),
        optional(
            condition_status=st.sampled_from(["delivered", "read"]),
            expiry_time=NUMBERS,
            message_uuid=UUIDS,
            sent_at=TIMES,
            status=st.sampled_from(["submitted", "delivered", "read", "rejected", "undeliverable"]),
            status_at=TIMES,
            outcome=st.sampled_from(["condition_met", "expired", "send_failed", "rejected", "cancelled"]),
            outcome_at=TIMES,
            send_error=SEND_ERRORS,
            usage=USAGE,
            status_error=STATUS_ERRORS,
            # internals
            rank=NUMBERS,
            send_state=st.sampled_from(["sending", "sent", "failed"]),
            task_token=TEXT,
        ),
    ).map(lambda parts: parts[0] | parts[1])


ITEMS = st.tuples(
    st.fixed_dictionaries(
        {
            "dispatch_uuid": UUIDS,
            "template": st.just("failover"),
            "status": st.sampled_from(["in_progress", "completed", "error", "cancelled"]),
            "created_at": TIMES,
            "updated_at": TIMES,
            "current_step": NUMBERS,
            "steps": st.lists(steps(), min_size=1, max_size=3),
            # internals and PII
            "pk": st.just("WORKFLOW#x"),
            "account_id": TEXT,
            "messages": st.just([]),  # the steps' messages: see with_messages
            "expires_at": NUMBERS,
        }
    ),
    optional(finished_at=TIMES, error_reason=TEXT, callback_url=st.just("https://example.com/cb")),
).map(lambda parts: parts[0] | parts[1])


def assert_exactly_as_the_model_makes_it(model: type[BaseModel], body: dict[str, Any]) -> None:
    as_json = json.dumps(body)  # no Decimal, nothing JSON cannot carry
    # What ResponseModel.body() does, and what the delivery function once sent.
    dumped = model.model_validate(body).model_dump(mode="json", by_alias=True, exclude_none=True)
    assert json.dumps(dumped) == as_json  # the same fields, in the same order, no nulls


@settings(max_examples=150, deadline=None)
@given(ITEMS)
def test_a_workflow_is_shown_as_its_model_declares(item: dict[str, Any]) -> None:
    body = workflow_view(item)
    assert_exactly_as_the_model_makes_it(schemas.WorkflowView, body)
    assert [step["index"] for step in body["workflow"]] == list(range(len(item["steps"])))


@settings(max_examples=100, deadline=None)
@given(st.lists(ITEMS, max_size=3), st.integers(1, 100), st.sampled_from([None, "completed"]), st.booleans())
def test_a_page_of_the_listing_is_shown_as_its_model_declares(items, page_size, status, more) -> None:
    page = workflow_page(items, page_size=page_size, status=status, next_cursor="c.1" if more else None)
    assert_exactly_as_the_model_makes_it(schemas.WorkflowPage, page)
    for item in items:
        assert_exactly_as_the_model_makes_it(schemas.WorkflowSummary, workflow_summary(item))


@settings(max_examples=150, deadline=None)
@given(ITEMS, st.data())
def test_a_message_is_shown_as_its_model_declares(item: dict[str, Any], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(item["steps"]) - 1))
    item["steps"][index].setdefault("message_uuid", "m-1")
    assert_exactly_as_the_model_makes_it(schemas.MessageView, message_view(item, index))


def test_a_stored_error_code_read_back_from_dynamodb_is_shown() -> None:
    item = {
        "dispatch_uuid": "d",
        "steps": [
            {
                "channel": "sms",
                "content_type": "text",
                "message_uuid": "m",
                "status": "rejected",
                "status_error": {"code": Decimal(1300), "reason": "Not part of the provider network"},
            }
        ],
    }
    assert message_view(item, 0)["error"] == {"code": 1300, "reason": "Not part of the provider network"}


@pytest.mark.parametrize(
    "problem",
    [
        problems.invalid_parameters(
            [ParameterError("workflow[0].to.number", "must be an E.164 phone number")]
        ),
        problems.invalid_parameters([]),
        problems.bad_request("The request body is not valid JSON."),
        problems.unauthorized(),
        problems.not_found("No workflow 'x' in this account."),
        problems.conflict("The workflow already ended (completed)."),
        problems.internal_error(),
        problems.service_unavailable("Try again."),
        problems.payload_too_large(262144),
    ],
)
def test_every_problem_body_is_shaped_as_its_model_declares(problem: problems.Problem) -> None:
    assert_exactly_as_the_model_makes_it(schemas.Problem, problem.body())


@pytest.mark.parametrize("result", list(RecordResult))
def test_the_status_webhooks_answer_is_shaped_as_its_model_declares(result: RecordResult) -> None:
    # As functions/status_webhook/app.py answers.
    assert_exactly_as_the_model_makes_it(schemas.StatusRecorded, {"result": result.value})


def test_the_created_answer_is_shaped_as_its_model_declares() -> None:
    assert_exactly_as_the_model_makes_it(schemas.WorkflowCreated, {"dispatch_uuid": "d"})


# -- callbacks ----------------------------------------------------------------------------------------

ENDPOINTS = st.sampled_from(
    [
        ({"type": "messenger", "id": "1234567890"}, {"type": "messenger", "id": "0987654321"}),
        ({"type": "sms", "number": "Acme"}, {"type": "sms", "number": "447700900001"}),
        ({"type": "viber_service_msg", "id": "123"}, {"type": "viber_service_msg", "number": "447700900001"}),
    ]
)


def with_messages(item: dict[str, Any], endpoints: tuple[dict[str, str], dict[str, str]]) -> dict[str, Any]:
    """The item with each step's message as the workflow item stores it (from, to, message)."""
    sender, recipient = endpoints
    message = {"from": sender, "to": recipient, "message": {"content": {"type": "text", "text": "Hi"}}}
    return item | {"messages": [json.dumps(message)] * len(item["steps"])}


@settings(max_examples=150, deadline=None)
@given(ITEMS, ENDPOINTS, st.data())
def test_a_status_callback_is_shaped_as_its_model_declares(item, endpoints, data) -> None:
    item = with_messages(item, endpoints)
    index = data.draw(st.integers(0, len(item["steps"]) - 1))
    status = data.draw(st.sampled_from(["submitted", "delivered", "read", "rejected", "undeliverable"]))
    event = status_event(
        item["dispatch_uuid"], index, status=status, timestamp=data.draw(TIMES), message_uuid="m-1"
    )
    body = status_callback_body(event, item)
    assert_exactly_as_the_model_makes_it(callbacks.MessageStatusCallback, body)
    assert (body["to"], body["from"]) == endpoints[::-1]


@settings(max_examples=150, deadline=None)
@given(ITEMS, ENDPOINTS)
def test_a_final_report_is_shaped_as_its_model_declares(item, endpoints) -> None:
    item = with_messages(item, endpoints) | {"status": "completed"}
    body = final_report_body(final_report_event(item["dispatch_uuid"]), item)
    assert_exactly_as_the_model_makes_it(callbacks.FinalReport, body)
    assert len(body["_links"]["messages"]) == len(item["steps"])
