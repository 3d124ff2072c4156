"""A failed message's error, from the Messages API v1 shape to Dispatch v0.1's {code, reason}
(dispatch.domain.status_errors)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dispatch.domain.status_errors import (
    MAX_REASON_LENGTH,
    dispatch_error,
    error_code,
    error_reason,
    reported_error,
)

TYPE_1300 = "https://developer.vonage.com/api-errors/messages#1300"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ({"type": TYPE_1300}, 1300),  # the URL's fragment
        ({"type": "https://developer.nexmo.com/api-errors/messages-olympus/1020"}, 1020),  # last segment
        ({"type": "https://example.com/errors/1020/"}, 1020),
        ({"type": "https://example.com/errors#rate-limit", "title": 1000}, 1000),  # a numeric title
        ({"type": "https://example.com/errors#rate-limit", "title": "1000"}, 1000),
        ({"code": 1300}, 1300),  # already Dispatch-shaped
        ({"type": "https://example.com/errors#rejected", "title": "Rejected"}, None),
        ({"title": True}, None),
        ({"type": "https://example.com/errors#99999999999"}, None),  # no code is that long
        ({}, None),
    ],
)
def test_the_code_is_the_integer_at_the_end_of_the_type_url(error, code):
    assert error_code(error) == code


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            {"type": TYPE_1300, "title": "Not part of the provider network"},
            "Not part of the provider network",
        ),
        # A title that is only the code: the detail is the reason
        (
            {"type": TYPE_1300, "title": 1300, "detail": "Not part of the provider network"},
            "Not part of the provider network",
        ),
        ({"type": TYPE_1300, "title": "1300", "detail": "Throttled"}, "Throttled"),
        ({"type": TYPE_1300}, None),
        ({"reason": "Blocked"}, "Blocked"),
    ],
)
def test_the_reason_is_the_title_unless_the_title_is_only_the_code(error, reason):
    assert error_reason(error) == reason


@pytest.mark.parametrize(
    "detail",
    [
        "Message failed because 447700900001 blocked the sender",
        "Message failed because +44 7700 900001 blocked the sender",
        "Message failed because 4477-0090-0001 blocked the sender",
    ],
)
def test_numbers_in_the_reason_are_masked(detail):
    reason = error_reason({"title": 1320, "detail": detail})
    assert reason == "Message failed because … blocked the sender"


def test_a_long_reason_is_cut():
    reason = error_reason({"title": "x" * 5000})
    assert len(reason) == MAX_REASON_LENGTH and reason.endswith("…")


def test_what_is_stored_is_the_dispatch_shape_and_the_type():
    error = {"type": TYPE_1300, "title": 1300, "detail": "Not part of the provider network", "instance": "i"}
    assert dispatch_error(error) == {
        "code": 1300,
        "reason": "Not part of the provider network",
        "type": TYPE_1300,
    }


def test_an_odd_error_stores_only_what_it_can_read():
    assert dispatch_error({"type": 42, "title": ["x"], "detail": {"a": 1}}) == {}


def test_what_is_reported_always_has_a_reason():
    assert reported_error({}, "rejected") == {"code": None, "reason": "The message was rejected."}
    assert reported_error({"code": 1300, "reason": "Nope"}, "rejected") == {"code": 1300, "reason": "Nope"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [(Decimal(1300), 1300), (Decimal("1300.0"), 1300), (Decimal("1300.5"), None), (Decimal("NaN"), None)],
)
def test_a_code_read_back_from_dynamodb_as_a_decimal_is_still_reported(code, expected) -> None:
    # DynamoDB returns every number as a Decimal: the code the status webhook stored comes back so.
    assert reported_error({"code": code, "reason": "Not part of the provider network"}, "rejected") == {
        "code": expected,
        "reason": "Not part of the provider network",
    }
