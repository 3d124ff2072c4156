"""Two small rules the handlers rely on: how a status webhook's body is read, field limits
included (dispatch.domain.status_updates.parse_status_webhook), and how a refused send is classed
(dispatch.domain.sending: a final 4xx is "refused", anything else "error").

Found by mutation testing (`make mutation`): no unit test read a webhook body, and the edges of
the 4xx range were never tried.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from dispatch.domain.errors import InvalidStatusWebhook, MalformedBody
from dispatch.domain.sending import _failure_kind
from dispatch.domain.status_updates import parse_status_webhook

UUID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


def test_a_status_webhook_body_is_read_with_its_fields() -> None:
    body = (
        f'{{"message_uuid": "{UUID}", "status": "read", "timestamp": "2025-01-02T03:04:05.000Z",'
        ' "channel": "messenger", "client_ref": "ref", "to": "ignored"}'
    )
    webhook = parse_status_webhook(body.encode())
    assert (webhook.message_uuid, webhook.status, webhook.channel, webhook.client_ref) == (
        UUID,
        "read",
        "messenger",
        "ref",
    )
    assert webhook.timestamp == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("body", [b"{", b"", b"not json"])
def test_a_webhook_body_that_is_not_json_is_malformed(body) -> None:
    with pytest.raises(MalformedBody) as raised:
        parse_status_webhook(body)
    assert raised.value.detail == "The body is not valid JSON."


def test_a_webhook_body_that_is_json_but_not_a_status_names_each_field() -> None:
    with pytest.raises(InvalidStatusWebhook) as raised:
        parse_status_webhook(f'{{"message_uuid": "{UUID}", "status": "opened"}}')
    assert [e.name for e in raised.value.errors] == ["status", "timestamp"]


@pytest.mark.parametrize(
    ("http_status", "kind"),
    [
        (400, "refused"),
        (422, "refused"),
        (499, "refused"),
        (429, "error"),
        (500, "error"),
        (399, "error"),
        (None, "error"),  # no answer at all
        ("422", "error"),
    ],
)
def test_a_final_4xx_is_a_refusal_and_anything_else_a_provider_error(http_status, kind) -> None:
    assert _failure_kind({"http_status": http_status}) == kind


# -- the status webhook's field limits (found by `make mutation`, 2026-11-29) ---------------------
# Far above what the Messages API sends, so that nothing unbounded reaches the table: each limit
# is read exactly, and one more is refused naming the field.


def webhook_body(**fields: object) -> str:
    return json.dumps(
        {"message_uuid": UUID, "status": "delivered", "timestamp": "2025-01-02T03:04:05Z", **fields}
    )


def refused_fields(body: str) -> list[str]:
    with pytest.raises(InvalidStatusWebhook) as raised:
        parse_status_webhook(body)
    return [e.name for e in raised.value.errors]


@pytest.mark.parametrize(("field", "limit"), [("message_uuid", 100), ("channel", 50), ("client_ref", 100)])
def test_a_webhook_string_is_read_up_to_its_limit_and_refused_one_character_over(field, limit) -> None:
    assert getattr(parse_status_webhook(webhook_body(**{field: "a" * limit})), field) == "a" * limit
    assert refused_fields(webhook_body(**{field: "a" * (limit + 1)})) == [field]


def test_a_webhook_message_uuid_may_be_one_character_but_not_empty() -> None:
    assert parse_status_webhook(webhook_body(message_uuid="a")).message_uuid == "a"
    assert refused_fields(webhook_body(message_uuid="")) == ["message_uuid"]


@pytest.mark.parametrize("field", ["error", "usage"])
def test_a_webhook_error_or_usage_is_read_with_20_properties_and_refused_with_21(field) -> None:
    twenty = {f"key{i}": "value" for i in range(20)}
    assert getattr(parse_status_webhook(webhook_body(**{field: twenty})), field) == twenty
    assert refused_fields(webhook_body(**{field: twenty | {"key20": "value"}})) == [field]
