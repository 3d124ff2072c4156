"""Vonage-style signed webhooks: an HS256 JWT whose `payload_hash` is the body's SHA-256.

Used both ways: the status webhook verifies what the Messages API posts, and the sandbox
provider (and later our own callbacks) sign what they post, so one module owns the format.

The JWT is made and checked here with hmac, for HS256 only, with PyJWT's rules (signature first,
then `exp`, `nbf` and `aud` when present). PyJWT itself imports `cryptography` as it loads, for
the RSA and EC algorithms, which would cost every status webhook's cold start more than the rest
of the verification put together; the application JWTs (RS256) still go through PyJWT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from dispatch.domain.credentials import parse_bearer
from dispatch.domain.errors import InvalidSignature

__all__ = ["InvalidSignature", "payload_hash", "sign_webhook", "verify_webhook"]

# Providers retry a status with its original signature (Vonage: for 24 h); an hour's margin.
DEFAULT_MAX_AGE_SECONDS = 25 * 3600
# Tokens may come from a clock a little ahead of ours.
CLOCK_SKEW_SECONDS = 60
ALGORITHM = "HS256"
_HEADER = {"alg": ALGORITHM, "typ": "JWT"}
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _encode_segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _decode_segment(segment: str) -> bytes:
    if not _SEGMENT.fullmatch(segment):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _hs256(secret: str, signing_input: str) -> bytes:
    return hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def sign_webhook(body: bytes, *, secret: str, api_key: str, issued_at: int | None = None) -> str:
    """Return the `Authorization` header value for a webhook carrying `body`."""
    claims = {
        "api_key": api_key,
        "iat": int(time.time()) if issued_at is None else issued_at,
        "jti": str(uuid.uuid4()),
        "payload_hash": payload_hash(body),
    }
    signing_input = f"{_encode_segment(_HEADER)}.{_encode_segment(claims)}"
    signature = base64.urlsafe_b64encode(_hs256(secret, signing_input)).rstrip(b"=").decode()
    return f"Bearer {signing_input}.{signature}"


def _verified_claims(token: str, secrets: list[str], now: float) -> dict[str, Any]:
    """The claims of an HS256 JWT signed with one of `secrets`; raises InvalidSignature."""
    try:
        header_segment, payload_segment, signature_segment = token.split(".")
        header = json.loads(_decode_segment(header_segment))
        # Only HS256: `none`, and any other algorithm the token may name, are never considered.
        if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
            raise InvalidSignature("invalid token: the algorithm is not HS256")
        signature = _decode_segment(signature_segment)
        signing_input = f"{header_segment}.{payload_segment}"
        if not any(hmac.compare_digest(_hs256(secret, signing_input), signature) for secret in secrets):
            raise InvalidSignature("invalid token: signature verification failed")
        claims = json.loads(_decode_segment(payload_segment))
    except (ValueError, binascii.Error, RecursionError) as error:  # JSON, UTF-8 and base64 errors
        raise InvalidSignature("invalid token: malformed") from error
    if not isinstance(claims, dict):
        raise InvalidSignature("invalid token: the claims are not an object")
    for claim in ("iat", "payload_hash"):
        if claims.get(claim) is None:
            raise InvalidSignature(f"invalid token: the {claim} claim is missing")
    if "exp" in claims and not (_is_number(claims["exp"]) and now < claims["exp"]):
        raise InvalidSignature("invalid token: expired")
    if "nbf" in claims and not (_is_number(claims["nbf"]) and now >= claims["nbf"]):
        raise InvalidSignature("invalid token: not yet valid")
    if "aud" in claims:  # meant for some other recipient
        raise InvalidSignature("invalid token: unexpected audience")
    return claims


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
    if not secrets:
        raise InvalidSignature("no signature secret to verify with")
    now = time.time() if now is None else now
    claims = _verified_claims(token, secrets, now)
    if claims["payload_hash"] != payload_hash(body):
        raise InvalidSignature("payload_hash does not match the body")
    age = now - issued_at(claims)
    # Allow a little clock skew into the future, but nothing older than max_age.
    if age > max_age_seconds or age < -CLOCK_SKEW_SECONDS:
        raise InvalidSignature("token is stale")
    return claims


# -- the signature secret, with an optional rotation window ----------------------------------------


class InvalidSecretValue(ValueError):
    """The stored signature secret has neither accepted shape."""


class SignatureSecrets(NamedTuple):
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
        data = json.loads(text)  # starting with "{", it is an object if it parses at all
    except ValueError:
        raise InvalidSecretValue("the signature secret looks like JSON but does not parse") from None
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
