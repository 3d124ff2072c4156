"""API accounts: Basic credentials (api_key:api_secret) checked against a salted, slow hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from dispatch.repository import plain

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


def parse_basic(authorization: str | None) -> tuple[str, str] | None:
    """(api_key, api_secret) from a `Basic` Authorization header, or None if it is not one."""
    if not authorization or not authorization.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(authorization.removeprefix("Basic ").strip(), validate=True).decode()
    except ValueError:  # binascii.Error, non-ASCII input and UnicodeDecodeError are all ValueErrors
        return None
    api_key, separator, api_secret = decoded.partition(":")
    if not separator or not api_key or not api_secret:
        return None
    return api_key, api_secret


def authenticate(authorization: str | None, accounts: AccountRepository) -> str | None:
    """The account id the Basic credentials belong to, or None."""
    credentials = parse_basic(authorization)
    if credentials is None:
        return None
    api_key, api_secret = credentials
    account = accounts.get(api_key)
    if account is None or not verify_secret(api_secret, account["secret_hash"]):
        return None
    return account["account_id"]


def create_account(
    accounts: AccountRepository, *, api_key: str, api_secret: str, account_id: str, now: str
) -> None:
    accounts.put(api_key, account_id=account_id, secret_hash=hash_secret(api_secret), created_at=now)


def account_key(api_key: str) -> dict[str, str]:
    return {"pk": f"ACCOUNT#{api_key}"}


class AccountRepository:
    """API accounts, keyed by api_key; the secret is stored only as a hash."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, api_key: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=account_key(api_key)).get("Item")
        return plain(item) if item else None

    def put(self, api_key: str, *, account_id: str, secret_hash: str, created_at: str) -> None:
        self._table.put_item(
            Item={
                **account_key(api_key),
                "account_id": account_id,
                "secret_hash": secret_hash,
                "created_at": created_at,
            }
        )
