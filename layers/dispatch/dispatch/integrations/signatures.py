"""Vonage-style signed webhooks: an HS256 JWT whose `payload_hash` is the body's SHA-256.

Used both ways: the status webhook verifies what the Messages API posts, and the sandbox
provider (and later our own callbacks) sign what they post, so one module owns the format.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid

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
    secret: str,
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
    now: float | None = None,
) -> dict:
    """Check the bearer JWT of a webhook and that it signs exactly `body`; return its claims."""
    token = parse_bearer(authorization)
    if token is None:
        raise InvalidSignature("missing bearer token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["iat", "payload_hash"], "verify_iat": False},
        )
    except jwt.PyJWTError as error:
        raise InvalidSignature(f"invalid token: {error}") from error
    if claims["payload_hash"] != payload_hash(body):
        raise InvalidSignature("payload_hash does not match the body")
    age = (time.time() if now is None else now) - issued_at(claims)
    # Allow a little clock skew into the future, but nothing older than max_age.
    if age > max_age_seconds or age < -CLOCK_SKEW_SECONDS:
        raise InvalidSignature("token is stale")
    return claims


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
