"""Vonage-style signed webhooks: an HS256 JWT whose `payload_hash` is the body's SHA-256.

Used both ways: the status webhook verifies what the Messages API posts, and the sandbox
provider (and later our own callbacks) sign what they post, so one module owns the format.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import jwt

from dispatch.domain.credentials import parse_bearer
from dispatch.domain.errors import InvalidSignature

__all__ = ["InvalidSignature", "payload_hash", "sign_webhook", "verify_webhook"]

# Providers retry a status with its original signature (Vonage: for 24 h); an hour's margin.
DEFAULT_MAX_AGE_SECONDS = 25 * 3600
# Tokens may come from a clock a little ahead of ours.
CLOCK_SKEW_SECONDS = 60


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def sign_webhook(body: bytes, *, secret: str, api_key: str, issued_at: int | None = None) -> str:
    """Return the `Authorization` header value for a webhook carrying `body`."""
    claims = {
        "api_key": api_key,
        "iat": int(time.time()) if issued_at is None else issued_at,
        "jti": str(uuid.uuid4()),
        "payload_hash": payload_hash(body),
    }
    return "Bearer " + jwt.encode(claims, secret, algorithm="HS256")


def verify_webhook(
    authorization: str | None,
    body: bytes,
    *,
    secret: str | Sequence[str],
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
    now: float | None = None,
) -> dict:
    """Check the bearer JWT of a webhook and that it signs exactly `body`; return its claims.
    `secret` may be several secrets (during a rotation): a token signed with any of them passes."""
    token = parse_bearer(authorization)
    if token is None:
        raise InvalidSignature("missing bearer token")
    secrets = [secret] if isinstance(secret, str) else list(secret)
    claims: dict | None = None
    for index, candidate in enumerate(secrets):
        try:
            claims = jwt.decode(
                token,
                candidate,
                algorithms=["HS256"],
                options={"require": ["iat", "payload_hash"], "verify_iat": False},
            )
            break
        except jwt.InvalidSignatureError as error:
            if index == len(secrets) - 1:
                raise InvalidSignature(f"invalid token: {error}") from error
        except jwt.PyJWTError as error:
            raise InvalidSignature(f"invalid token: {error}") from error
    if claims is None:
        raise InvalidSignature("no signature secret to verify with")
    if claims["payload_hash"] != payload_hash(body):
        raise InvalidSignature("payload_hash does not match the body")
    age = (time.time() if now is None else now) - issued_at(claims)
    # Allow a little clock skew into the future, but nothing older than max_age.
    if age > max_age_seconds or age < -CLOCK_SKEW_SECONDS:
        raise InvalidSignature("token is stale")
    return claims


# -- the signature secret, with an optional rotation window ----------------------------------------


class InvalidSecretValue(ValueError):
    """The stored signature secret has neither accepted shape."""


@dataclass(frozen=True)
class SignatureSecrets:
    """The webhook signature secret as stored: a plain string, or during a rotation the JSON
    {"current": "...", "previous": "...", "previous_until": "<ISO 8601 time>"}. The previous
    secret is accepted until `previous_until` (or until it is removed, without one), so statuses
    the provider still signs with it are not lost while it switches to the new one."""

    current: str
    previous: str | None = None
    previous_until: datetime | None = None

    def accepted(self, now: datetime) -> list[str]:
        """The secrets a webhook may be signed with at `now`, current first."""
        if self.previous and (self.previous_until is None or now < self.previous_until):
            return [self.current, self.previous]
        return [self.current]


def parse_signature_secret(value: str) -> SignatureSecrets:
    """Read the stored value; raises InvalidSecretValue (never quoting the secret)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidSecretValue("the signature secret is empty")
    if not text.startswith("{"):
        return SignatureSecrets(current=text)
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidSecretValue("the signature secret looks like JSON but does not parse") from None
    if not isinstance(data, dict):
        raise InvalidSecretValue("the signature secret JSON must be an object")
    current, previous, until = data.get("current"), data.get("previous"), data.get("previous_until")
    if not isinstance(current, str) or not current:
        raise InvalidSecretValue('the signature secret JSON needs a non-empty "current" string')
    if previous is not None and (not isinstance(previous, str) or not previous):
        raise InvalidSecretValue('"previous" must be a non-empty string when given')
    previous_until = None
    if until is not None:
        try:
            previous_until = datetime.fromisoformat(until) if isinstance(until, str) else None
        except ValueError:
            previous_until = None
        if previous_until is None or previous_until.tzinfo is None:
            raise InvalidSecretValue(
                '"previous_until" must be an ISO 8601 time with a zone, e.g. 2026-01-01T12:00:00Z'
            )
    return SignatureSecrets(current=current, previous=previous, previous_until=previous_until)


def issued_at(claims: dict) -> float:
    """The token's `iat`: a finite JSON number, never a string (`"nan"` would skip the age check)."""
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise InvalidSignature("iat is not a number")
    try:
        value = float(iat)
    except OverflowError:  # an integer of hundreds of digits
        raise InvalidSignature("iat is out of range") from None
    if not math.isfinite(value):
        raise InvalidSignature("iat is not a finite number")
    return value
