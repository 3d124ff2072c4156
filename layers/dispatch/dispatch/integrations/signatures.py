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
import re
import time
import uuid
from typing import Any

DEFAULT_MAX_AGE_SECONDS = 300
ALGORITHM = "HS256"
_HEADER = {"alg": ALGORITHM, "typ": "JWT"}
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


class InvalidSignature(Exception):
    """The request is not signed by the holder of the signature secret, or is stale."""


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


def _verified_claims(token: str, secret: str, now: float) -> dict[str, Any]:
    """The claims of an HS256 JWT signed with `secret`; raises InvalidSignature."""
    try:
        header_segment, payload_segment, signature_segment = token.split(".")
        header = json.loads(_decode_segment(header_segment))
        # Only HS256: `none`, and any other algorithm the token may name, are never considered.
        if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
            raise InvalidSignature("invalid token: the algorithm is not HS256")
        expected = _hs256(secret, f"{header_segment}.{payload_segment}")
        if not hmac.compare_digest(expected, _decode_segment(signature_segment)):
            raise InvalidSignature("invalid token: signature verification failed")
        claims = json.loads(_decode_segment(payload_segment))
    except (ValueError, binascii.Error) as error:  # JSON and UnicodeDecodeErrors are ValueErrors
        raise InvalidSignature("invalid token: malformed") from error
    if not isinstance(claims, dict):
        raise InvalidSignature("invalid token: the claims are not an object")
    for claim in ("iat", "payload_hash"):
        if claim not in claims:
            raise InvalidSignature(f"invalid token: the {claim} claim is missing")
    if not _is_number(claims["iat"]):
        raise InvalidSignature("invalid token: iat is not a number")
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
    secret: str,
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
    now: float | None = None,
) -> dict:
    """Check the bearer JWT of a webhook and that it signs exactly `body`; return its claims."""
    if not authorization or not authorization.startswith("Bearer "):
        raise InvalidSignature("missing bearer token")
    now = time.time() if now is None else now
    claims = _verified_claims(authorization.removeprefix("Bearer ").strip(), secret, now)
    if claims["payload_hash"] != payload_hash(body):
        raise InvalidSignature("payload_hash does not match the body")
    age = now - claims["iat"]
    # Allow a little clock skew into the future, but nothing older than max_age.
    if age > max_age_seconds or age < -60:
        raise InvalidSignature("token is stale")
    return claims
