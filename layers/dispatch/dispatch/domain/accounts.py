"""API accounts: who may call, how a caller is authenticated, and how an account is created.

Authentication costs one read: `Basic` credentials read their API key's record, a `Bearer` JWT its
application's record; both name the account (storage: dispatch.storage.account_repository).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

from dispatch.clock import iso, utc_now
from dispatch.domain.applications import verify_bearer_token
from dispatch.domain.credentials import (
    auth_scheme,
    hash_secret,
    new_api_key,
    new_api_secret,
    new_signature_secret,
    parse_basic,
    parse_bearer,
    verify_secret,
)
from dispatch.domain.destinations import ForbiddenDestination, check_callback_url
from dispatch.domain.ports import AccountStore

_MAX_CALLBACK_URL_LENGTH = 2000


class AccountError(Exception):
    """Base of what AccountRepository refuses."""


class AccountNotFound(AccountError, LookupError):
    pass


class AccountExists(AccountError):
    """The account id or the api key is taken (creation never overwrites)."""


class InvalidCallbackUrl(ValueError):
    pass


class InvalidIdentifier(ValueError):
    """An account id or api key an operator chose that could not safely be one."""


# Ids end up inside keys ("ACCOUNT#<id>#...") and api keys before the colon of Basic credentials.
_IDENTIFIER = re.compile(r"[A-Za-z0-9._-]{1,64}")


def validate_callback_url(url: str, *, allow_loopback: bool = False) -> str:
    """The URL if callbacks may go there: https to a host that is not inward (see
    dispatch.domain.destinations); with `allow_loopback` (the local stack), also loopback over http."""
    if not url or len(url) > _MAX_CALLBACK_URL_LENGTH or any(c.isspace() for c in url):
        raise InvalidCallbackUrl("must be an absolute URL of at most 2000 characters, without spaces")
    try:
        check_callback_url(url, allow_loopback=allow_loopback)
    except ForbiddenDestination as error:
        raise InvalidCallbackUrl(str(error)) from None
    return url


# -- authentication ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who is calling: the account, and how it proved it."""

    account_id: str
    auth_method: Literal["basic", "jwt"]
    application_id: str | None = None

    def context(self) -> dict[str, str]:
        """The Lambda authorizer's context (what the functions see)."""
        context = {"account_id": self.account_id, "auth_method": self.auth_method}
        if self.application_id:
            context["application_id"] = self.application_id
        return context


def authenticate(authorization: str | None, accounts: AccountStore) -> Identity | None:
    """The caller's identity from `Basic api_key:api_secret` or `Bearer <JWT>`, or None."""
    credentials = parse_basic(authorization)
    if credentials is not None:
        api_key, api_secret = credentials
        stored = accounts.get_credentials(api_key)
        if stored is None or not verify_secret(api_secret, stored["secret_hash"]):
            return None
        return Identity(account_id=stored["account_id"], auth_method="basic")
    token = parse_bearer(authorization)
    if token is not None:
        application = verify_bearer_token(token, accounts.get_application)
        if application is None:
            return None
        return Identity(
            account_id=application["account_id"],
            auth_method="jwt",
            application_id=application["application_id"],
        )
    return None


def refusal_reason(authorization: str | None) -> str:
    """Why `authenticate` refused this header, as a key of dispatch.api.AUTH_ERRORS."""
    scheme, _ = auth_scheme(authorization)
    return {"basic": "invalid_credentials", "bearer": "invalid_token"}.get(scheme, "unsupported_scheme")


@dataclass(frozen=True)
class NewAccount:
    """A created account with its secrets: show them once, they cannot be read back later
    (the API secret is stored only as a hash)."""

    account_id: str
    api_key: str
    api_secret: str
    signature_secret: str


def create_account(
    accounts: AccountStore,
    *,
    api_key: str | None = None,
    api_secret: str | None = None,
    account_id: str | None = None,
    signature_secret: str | None = None,
    name: str | None = None,
    callback_url: str | None = None,
    now: str | None = None,
    allow_loopback_callback: bool = False,
) -> NewAccount:
    """Create an account; what is not given is generated. Raises AccountExists, or
    InvalidIdentifier for an account id or api key outside [A-Za-z0-9._-]{1,64}, or
    InvalidCallbackUrl (loopback callback URLs only with `allow_loopback_callback`)."""
    for what, value in (("account_id", account_id), ("api_key", api_key)):
        if value is not None and not _IDENTIFIER.fullmatch(value):
            raise InvalidIdentifier(f"{what} must be 1-64 letters, digits, '.', '_' or '-'")
    account = NewAccount(
        account_id=account_id or str(uuid.uuid4()),
        api_key=api_key or new_api_key(),
        api_secret=api_secret or new_api_secret(),
        signature_secret=signature_secret or new_signature_secret(),
    )
    accounts.create(
        account_id=account.account_id,
        api_key=account.api_key,
        secret_hash=hash_secret(account.api_secret),
        signature_secret=account.signature_secret,
        name=name,
        callback_url=(
            validate_callback_url(callback_url, allow_loopback=allow_loopback_callback)
            if callback_url
            else None
        ),
        now=now or _now(),
    )
    return account


def _now() -> str:
    return iso(utc_now())
