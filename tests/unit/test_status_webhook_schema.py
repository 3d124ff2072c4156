"""The status webhook's hand-written parser (dispatch.domain.status_updates.parse_status_webhook)
and the schema the OpenAPI document declares for it (dispatch.api.schemas.StatusWebhook, a
pydantic model) accept and refuse the same bodies, read the same values from them, and name the
same fields when they refuse one.

The parser is hand-written so that the status webhook, called for every status of every message,
does not import pydantic at its cold start (docs/performance.md); this test is what keeps the two
from drifting apart."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dispatch.api.schemas import StatusWebhook as StatusWebhookSchema
from dispatch.domain.errors import InvalidStatusWebhook, MalformedBody
from dispatch.domain.status_updates import parse_status_webhook

UUID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
ABSENT = object()


def strings(limit: int) -> st.SearchStrategy[str]:
    """Strings around `limit` characters long: empty, short, exactly at it, one over."""
    return st.one_of(
        st.just(""),
        st.text(max_size=5),
        st.integers(limit - 1, limit + 1).map(lambda n: "a" * n),
        st.integers(limit - 1, limit + 1).map(lambda n: "é" * n),  # characters, not bytes
    )


# Values that are not strings, objects or statuses: each field must refuse them alike.
OTHER_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.lists(st.integers(0, 3), max_size=2),
)
STATUSES = st.sampled_from(["submitted", "delivered", "read", "rejected", "undeliverable"])
TIMESTAMPS = st.sampled_from(
    [
        "2025-01-02T03:04:05Z",
        "2025-01-02T03:04:05.000Z",
        "2025-01-02T03:04:05.123456+01:00",
        "2025-01-02T03:04:05-05:30",
        "2025-01-02 03:04:05Z",
        "2025-01-02T03:04:05z",
        # refused: no UTC offset, no time, not a date
        "2025-01-02T03:04:05",
        "2025-01-02",
        "2025-13-02T03:04:05Z",
        "2025-01-02T25:04:05Z",
        "yesterday",
        "",
    ]
)


def small_objects(limit: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.integers(0, limit + 1).map(lambda n: {f"key{i}": "value" for i in range(n)})


def field(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value, a value of another JSON type, or the field left out."""
    return st.one_of(values, OTHER_JSON, st.just(ABSENT))


BODIES = st.fixed_dictionaries(
    {
        "message_uuid": field(st.one_of(st.just(UUID), strings(100))),
        "status": field(st.one_of(STATUSES, st.sampled_from(["opened", "READ", "Read ", ""]))),
        "timestamp": field(TIMESTAMPS),
        "channel": field(strings(50)),
        "client_ref": field(strings(100)),
        "error": field(small_objects(20)),
        "usage": field(small_objects(20)),
        "to": field(st.just("447700900001")),  # a field neither reads
    }
).map(lambda body: {name: value for name, value in body.items() if value is not ABSENT})


def by_parser(body: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        webhook = parse_status_webhook(body)
    except InvalidStatusWebhook as refused:
        return None, sorted(error.name for error in refused.errors)
    return {name: getattr(webhook, name) for name in StatusWebhookSchema.model_fields}, []


def by_schema(body: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        webhook = StatusWebhookSchema.model_validate_json(body)
    except ValidationError as refused:
        return None, sorted({str(error["loc"][0]) for error in refused.errors()})
    return dict(webhook), []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BODIES)
@example({"message_uuid": UUID, "status": "read", "timestamp": "2025-01-02T03:04:05Z"})
def test_the_parser_and_the_documented_schema_agree_on_every_body(body: dict[str, Any]) -> None:
    text = json.dumps(body)
    parsed, refused = by_parser(text)
    validated, invalid = by_schema(text)
    assert refused == invalid
    if parsed is not None and validated is not None:
        # The same instant (pydantic's own timezone class, the standard library's here).
        assert parsed.pop("timestamp") == validated.pop("timestamp")
        assert parsed == validated


@pytest.mark.parametrize("body", ["[]", '"read"', "1", "null"])
def test_a_body_that_is_json_but_not_an_object_is_refused_by_both(body: str) -> None:
    with pytest.raises(InvalidStatusWebhook) as refused:
        parse_status_webhook(body)
    assert [tuple(error) for error in refused.value.errors] == [("body", "must be a JSON object")]
    with pytest.raises(ValidationError):
        StatusWebhookSchema.model_validate_json(body)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"",
        b'{"message_uuid": "\\ud800"}',  # a lone surrogate: no UTF-8 encoder takes it
        b'{"message_uuid": "\xff"}',  # not UTF-8
        json.dumps({"message_uuid": UUID}).encode("utf-16"),
    ],
)
def test_a_body_that_is_not_utf8_json_is_malformed_for_both(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        parse_status_webhook(body)
    with pytest.raises(ValidationError) as refused:
        StatusWebhookSchema.model_validate_json(body)
    assert refused.value.errors()[0]["type"] == "json_invalid"


def test_each_refusal_says_why_without_quoting_the_value() -> None:
    body = {"message_uuid": "x" * 101, "status": "opened", "timestamp": "2025-01-02T03:04:05"}
    with pytest.raises(InvalidStatusWebhook) as refused:
        parse_status_webhook(json.dumps(body | {"channel": 7, "usage": []}))
    assert [tuple(error) for error in refused.value.errors] == [
        ("message_uuid", "must be a string of 1 to 100 characters"),
        ("status", "must be one of submitted, delivered, read, rejected, undeliverable"),
        ("timestamp", "must be an ISO 8601 date and time with its UTC offset"),
        ("channel", "must be a string of 0 to 50 characters"),
        ("usage", "must be an object of at most 20 fields"),
    ]


def test_a_missing_field_is_named_as_required() -> None:
    with pytest.raises(InvalidStatusWebhook) as refused:
        parse_status_webhook("{}")
    assert [tuple(error) for error in refused.value.errors] == [
        ("message_uuid", "is required"),
        ("status", "is required"),
        ("timestamp", "is required"),
    ]
