"""Callback bodies, delivery outcomes, backoff and batch ordering (no AWS, loopback only)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from fakes import DISPATCH_UUID, SMS_TO, canonical_item

from dispatch.integrations.callback_events import CallbackEvent, final_report_event, status_event
from dispatch.integrations.callbacks import Delivery, deliver, final_report_body, process_batch, retry_delay
from dispatch.integrations.signatures import verify_webhook

SECRET = "s" * 32
ACCOUNT = {"account_id": "acct-1", "api_key": "key-1", "signature_secret": SECRET}


def finished_item(**changes) -> dict:
    item = canonical_item()
    item.update(
        status="completed", finished_at="2026-01-01T00:01:00.000Z", callback_url="https://example.com/cb"
    )
    item["steps"][0].update(
        message_uuid="m-0",
        status="delivered",
        outcome="expired",
        usage={"currency": "EUR", "price": "0.0333"},
    )
    item["steps"][1].update(
        message_uuid="m-1",
        status="delivered",
        outcome="condition_met",
        usage={"currency": "EUR", "price": "0.0100"},
    )
    item.update(changes)
    return item


class Post:
    """A stand-in for requests.post that records calls and answers with a status code."""

    def __init__(self, status: int | Exception = 204) -> None:
        self.status, self.calls = status, []

    def __call__(self, url, **kwargs):
        self.calls.append({"url": url, **kwargs})
        if isinstance(self.status, Exception):
            raise self.status
        response = requests.Response()
        response.status_code = self.status
        return response


def run(event: CallbackEvent, post: Post, item: dict | None = None) -> Delivery:
    return deliver(
        event,
        workflow=item or finished_item(),
        account=ACCOUNT,
        post=post,
        stored_report=lambda report: (report, True),
        now=lambda: datetime.now(UTC),
    )


def test_the_final_report_totals_usage_and_explains_each_message():
    report = final_report_body(final_report_event(DISPATCH_UUID), finished_item())

    assert report["status"] == "completed"
    assert report["event_id"] == f"{DISPATCH_UUID}:final"
    assert report["usage"] == {"currency": "EUR", "price": "0.0433"}
    assert [(m["message_uuid"], m["outcome"]) for m in report["_links"]["messages"]] == [
        ("m-0", "expired"),
        ("m-1", "condition_met"),
    ]
    assert report["_links"]["workflow"]["href"] == f"/v0.1/workflows/{DISPATCH_UUID}"


def test_the_final_report_of_a_workflow_ended_by_a_fault_says_why():
    item = finished_item(status="error", error_reason="execution failed (States.Runtime)")

    report = final_report_body(final_report_event(DISPATCH_UUID), item)

    assert (report["status"], report["error_reason"]) == ("error", "execution failed (States.Runtime)")
    assert "error_reason" not in final_report_body(final_report_event(DISPATCH_UUID), finished_item())


def test_a_status_callback_is_signed_and_names_its_recipient_and_workflow():
    post = Post()
    event = status_event(
        DISPATCH_UUID, 1, status="delivered", timestamp="2026-01-01T00:00:30.000Z", message_uuid="m-1"
    )

    assert run(event, post).outcome == "delivered"

    (call,) = post.calls
    body = json.loads(call["data"])
    claims = verify_webhook(call["headers"]["Authorization"], call["data"], secret=SECRET)
    assert claims["api_key"] == "key-1"
    assert body["to"] == {"type": "sms", "number": SMS_TO}
    assert body["_links"]["workflow"]["dispatch_uuid"] == DISPATCH_UUID
    assert (body["status"], body["event_id"]) == ("delivered", f"{DISPATCH_UUID}:1:delivered")
    assert call["allow_redirects"] is False


def test_a_step_never_sent_is_in_the_final_report_with_its_outcome_and_no_uuid():
    # Given a workflow completed by its first message: the second one's turn never came
    item = finished_item()
    item["steps"][0].update(send_state="accepted", outcome="condition_met")
    item["steps"][1] = {"channel": "sms", "content_type": "text"}

    report = final_report_body(final_report_event(DISPATCH_UUID), item)

    messages = report["_links"]["messages"]
    assert messages[1] == {"channel": "sms", "outcome": "not_sent"}
    assert messages[0]["href"] == "/v0.1/messages/m-0"


def test_a_step_sent_but_undecided_when_the_workflow_ended_has_no_invented_outcome():
    item = finished_item()
    item["steps"][1] = {"channel": "sms", "content_type": "text", "send_state": "sending"}

    report = final_report_body(final_report_event(DISPATCH_UUID), item)

    assert "outcome" not in report["_links"]["messages"][1]


@pytest.mark.parametrize(
    "stored",
    [
        # As the status webhook stores it now (dispatch.domain.status_errors)
        {"code": 1300, "reason": "Not part of the provider network", "type": "https://x/messages#1300"},
        # As Messages v1 shapes it, and as items stored before kept it
        {
            "type": "https://developer.vonage.com/api-errors/messages#1300",
            "title": "Not part of the provider network",
        },
        {"type": "https://developer.vonage.com/api-errors/messages#1300", "title": "1300"}
        | {"reason": "Not part of the provider network"},
    ],
)
def test_a_failed_status_callback_carries_the_dispatch_error_shape(stored):
    # Given a rejected message whose error the status webhook stored
    post = Post()
    item = finished_item()
    item["steps"][0].update(status="rejected", status_error=stored)
    event = status_event(
        DISPATCH_UUID, 0, status="rejected", timestamp="2026-01-01T00:00:30.000Z", message_uuid="m-0"
    )

    run(event, post, item)

    # Then its callback's error is Dispatch's: an integer code and the human reason
    body = json.loads(post.calls[0]["data"])
    assert body["error"] == {"code": 1300, "reason": "Not part of the provider network"}


def test_a_failure_without_a_known_reason_still_gets_one():
    post = Post()
    item = finished_item()
    item["steps"][0].update(status="undeliverable", status_error={"type": "https://x/errors#1320"})
    event = status_event(
        DISPATCH_UUID, 0, status="undeliverable", timestamp="2026-01-01T00:00:30.000Z", message_uuid="m-0"
    )

    run(event, post, item)

    assert json.loads(post.calls[0]["data"])["error"] == {
        "code": 1320,
        "reason": "The message was undeliverable.",
    }


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (requests.ConnectTimeout(), "retry"),
        (requests.ReadTimeout(), "retry"),
        (requests.ConnectionError(), "retry"),
        (400, "dropped"),
        (404, "dropped"),
        (410, "dropped"),
    ],
)
def test_delivery_retries_timeouts_429_and_5xx_only(answer, outcome):
    assert run(final_report_event(DISPATCH_UUID), Post(answer)).outcome == outcome


def test_nothing_is_sent_without_a_callback_url():
    post = Post()
    assert run(final_report_event(DISPATCH_UUID), post, finished_item(callback_url=None)).outcome == "skipped"
    assert post.calls == []


def test_a_final_report_is_counted_once_with_or_without_a_callback_url():
    for callback_url in ("https://example.com/cb", None):
        kept: dict = {}
        counted = []

        def stored(report, kept=kept):
            first = "report" not in kept
            return kept.setdefault("report", report), first

        for _ in range(2):  # the report delivered twice (e.g. a repeated cancel, minutes apart)
            deliver(
                final_report_event(DISPATCH_UUID),
                workflow=finished_item(callback_url=callback_url),
                account=ACCOUNT,
                post=Post(),
                stored_report=stored,
                on_first_report=counted.append,
            )
        assert [item["status"] for item in counted] == ["completed"], callback_url


def test_every_retry_of_a_final_report_sends_the_first_body():
    kept: dict = {}
    first = finished_item()
    later = finished_item()
    later["steps"][1]["usage"] = {"currency": "EUR", "price": "9.9999"}  # a late status changed usage
    bodies = []
    for item in (first, later):
        post = Post()
        deliver(
            final_report_event(DISPATCH_UUID),
            workflow=item,
            account=ACCOUNT,
            post=post,
            stored_report=lambda report: (kept.setdefault("report", report), False),
        )
        bodies.append(post.calls[0]["data"])
    assert bodies[0] == bodies[1]


@pytest.mark.parametrize(("attempt", "delay"), [(1, 5), (2, 10), (3, 20), (8, 640), (9, 900), (30, 900)])
def test_retry_delay_doubles_up_to_its_cap(attempt, delay):
    assert retry_delay(attempt, base_seconds=5, max_seconds=900) == delay


def test_a_retried_record_holds_back_the_rest_of_its_workflow_but_not_others():
    # Given a batch with two events of workflow A (the first fails) and one of workflow B
    def record(message_id, group, event):
        return {
            "messageId": message_id,
            "body": event.to_json(),
            "attributes": {"MessageGroupId": group, "ApproximateReceiveCount": "3"},
        }

    a1 = status_event("A", 0, status="submitted", timestamp="2026-01-01T00:00:00Z", message_uuid="m")
    a2 = status_event("A", 0, status="delivered", timestamp="2026-01-01T00:00:01Z", message_uuid="m")
    b1 = final_report_event("B")
    delivered, deferred = [], []

    def deliver_one(event):
        delivered.append(event.event_id)
        return Delivery(outcome="retry" if event.dispatch_uuid == "A" else "delivered")

    # When it is processed
    retry = process_batch(
        [record("1", "A", a1), record("2", "A", a2), record("3", "B", b1)],
        deliver_one=deliver_one,
        defer=lambda rec, delay: deferred.append((rec["messageId"], delay)),
        delay_for=lambda attempt: attempt * 10,
    )

    # Then A's second event is not attempted before its first, and B is unaffected
    assert delivered == [a1.event_id, b1.event_id]
    assert retry == ["1", "2"]
    assert deferred == [("1", 30), ("2", 30)]


def test_an_unexpected_error_is_retried_like_a_busy_receiver():
    record = {"messageId": "1", "body": final_report_event("A").to_json(), "attributes": {}}

    def broken(event):
        raise RuntimeError("DynamoDB unavailable")

    assert process_batch([record], deliver_one=broken, defer=lambda r, d: None, delay_for=lambda a: 1) == [
        "1"
    ]
