"""Rules of signed webhooks that the other signature tests leave unchecked
(dispatch.integrations.signatures): the real clock, the default age limit, and why a token is
refused.

Each was found by mutation testing (`make mutation`): changing the rule broke no other test.
"""

from __future__ import annotations

import json
import time

import pytest

from dispatch.integrations.signatures import (
    DEFAULT_MAX_AGE_SECONDS,
    InvalidSignature,
    sign_webhook,
    verify_webhook,
)

SECRET = "signature-secret-" + "0123456789abcdef" * 4
BODY = json.dumps({"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "status": "read"}).encode()
NOW = 1_735_787_045


def signed(issued_at: int, body: bytes = BODY) -> str:
    return sign_webhook(body, secret=SECRET, api_key="abcd1234", issued_at=issued_at)


def test_a_token_issued_a_little_ahead_of_our_real_clock_is_accepted() -> None:
    # Given a sender whose clock runs 30 s ahead of ours (within the 60 s of skew allowed)
    header = signed(int(time.time()) + 30)
    # When it is verified against the real clock (as the status webhook does, without `now`)
    claims = verify_webhook(header, BODY, secret=SECRET)
    # Then it is accepted: JWT libraries refuse an iat in the future unless told not to
    assert claims["iat"] > time.time()


def test_a_token_issued_far_ahead_of_our_real_clock_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="token is stale"):
        verify_webhook(signed(int(time.time()) + 600), BODY, secret=SECRET)


def test_the_default_age_limit_is_25_hours() -> None:
    # Given no max_age_seconds (the Messages API retries a webhook for up to 24 hours, with the
    # token it signed first); Then a token 25 h old passes and one a second older is stale
    assert DEFAULT_MAX_AGE_SECONDS == 25 * 3600
    verify_webhook(signed(NOW - 25 * 3600), BODY, secret=SECRET, now=NOW)
    with pytest.raises(InvalidSignature):
        verify_webhook(signed(NOW - 25 * 3600 - 1), BODY, secret=SECRET, now=NOW)


@pytest.mark.parametrize(
    ("authorization", "body", "reason"),
    [
        (None, BODY, "missing bearer token"),
        ("Basic YWJjOmRlZg==", BODY, "missing bearer token"),
        (signed(NOW), BODY + b" ", "payload_hash does not match the body"),
        (signed(NOW - 26 * 3600), BODY, "token is stale"),
    ],
)
def test_a_refusal_says_why_for_the_log(authorization, body, reason) -> None:
    # The status webhook logs this reason: it tells an operator which check failed.
    with pytest.raises(InvalidSignature) as raised:
        verify_webhook(authorization, body, secret=SECRET, now=NOW)
    assert str(raised.value) == reason
