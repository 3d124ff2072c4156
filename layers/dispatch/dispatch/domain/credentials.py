"""API credentials: how secrets are made, stored (PBKDF2 hashes, never the secret itself) and
read from an Authorization header.

Auth schemes are case-insensitive (RFC 7235): `basic`, `BEARER` and `Basic` are the same scheme.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_ITERATIONS = 100_000
# A stored hash is data: never let one make the authorizer spin for minutes.
_MAX_ITERATIONS = 10_000_000


def hash_secret(secret: str, *, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    """PBKDF2-SHA256 of the secret, as `pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored_hash: str) -> bool:
    """Whether `secret` matches `stored_hash`; a malformed stored hash never matches."""
    try:
        scheme, iterations, salt_hex, digest_hex = stored_hash.split("$")
        rounds = int(iterations)
        if scheme != "pbkdf2_sha256" or not 1 <= rounds <= _MAX_ITERATIONS:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt_hex), rounds)
        return hmac.compare_digest(digest.hex(), digest_hex)
    except (ValueError, TypeError):
        return False


def new_api_key() -> str:
    return secrets.token_hex(8)


def new_api_secret() -> str:
    return secrets.token_urlsafe(24)


def new_signature_secret() -> str:
    return secrets.token_urlsafe(32)


def auth_scheme(authorization: str | None) -> tuple[str, str]:
    """(scheme in lower case, credentials) of an Authorization header; ("", "") without one.
    Schemes are case-insensitive (RFC 7235): `bearer` is `Bearer`."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    return scheme.lower(), credentials.strip()


def parse_basic(authorization: str | None) -> tuple[str, str] | None:
    """(api_key, api_secret) from a `Basic` Authorization header, or None if it is not one."""
    scheme, credentials = auth_scheme(authorization)
    if scheme != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except ValueError:  # binascii.Error, non-ASCII input and UnicodeDecodeError are all ValueErrors
        return None
    api_key, separator, api_secret = decoded.partition(":")
    if not separator or not api_key or not api_secret:
        return None
    return api_key, api_secret


def parse_bearer(authorization: str | None) -> str | None:
    """The token of a `Bearer` Authorization header, or None if it is not one."""
    scheme, credentials = auth_scheme(authorization)
    if scheme != "bearer":
        return None
    return credentials or None
