"""Rules of bearer JWTs that the other JWT tests leave unchecked (dispatch.domain.applications):
the length cap, the shortest lifetime, and no read for an id that cannot be an application's.

Each was found by mutation testing (`make mutation`): changing the rule broke no other test.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from fakes import rsa_application

from dispatch.domain.applications import verify_bearer_token

KEY, APPLICATION = rsa_application()
APPLICATION_ID = APPLICATION["application_id"]


class Applications:
    """The application store, counting its reads."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def get(self, application_id: str) -> dict[str, Any] | None:
        self.reads.append(application_id)
        return dict(APPLICATION) if application_id == APPLICATION_ID else None


def token(*, lifetime: int = 900, application_id: str = APPLICATION_ID, **extra: Any) -> str:
    now = int(time.time())
    claims = {"application_id": application_id, "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4())}
    return jwt.encode({**claims, **extra}, KEY, algorithm="RS256")


def token_of_length(length: int) -> str:
    """A valid token exactly `length` characters long (padded with an extra claim)."""

    def padded(padding: int, kid: str) -> str:
        now = int(time.time())
        claims = {
            "application_id": APPLICATION_ID,
            "iat": now,
            "exp": now + 900,
            "jti": "j",
            "pad": "x" * padding,
        }
        return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": kid} if kid else None)

    # base64 makes 4 characters of 3 bytes: start close, then try the few lengths around
    start = max(0, (length - len(padded(0, ""))) * 3 // 4 - 16)
    for padding in range(start, start + 24):
        for kid in ("", "k", "kk"):
            value = padded(padding, kid)
            if len(value) == length:
                return value
    raise AssertionError(f"no token of {length} characters")


def test_a_token_of_8192_characters_is_verified_and_one_longer_is_refused_unread() -> None:
    # Given two otherwise valid tokens, at the length cap and just over it
    applications = Applications()
    at_cap, over_cap = token_of_length(8192), token_of_length(8193)
    # Then the first is verified, and the second refused before anything is decoded or read
    assert verify_bearer_token(at_cap, applications.get) == APPLICATION
    applications.reads.clear()
    assert verify_bearer_token(over_cap, applications.get) is None
    assert applications.reads == []


@pytest.mark.parametrize(("lifetime", "accepted"), [(0, False), (1, True)])
def test_a_token_must_live_at_least_a_second(lifetime: int, accepted: bool) -> None:
    # exp == iat is a token that was never valid (the leeway would otherwise let it pass)
    result = verify_bearer_token(token(lifetime=lifetime), Applications().get)
    assert (result == APPLICATION) is accepted


@pytest.mark.parametrize("application_id", ["not-a-uuid", "1234", "0536db9850ab460fba9991eb0eb219c3"])
def test_a_token_naming_something_that_is_not_an_application_id_costs_no_read(application_id: str) -> None:
    applications = Applications()
    assert verify_bearer_token(token(application_id=application_id), applications.get) is None
    assert applications.reads == []
