"""Rules of accounts and credentials that the other account tests leave unchecked
(dispatch.domain.accounts, dispatch.domain.credentials, dispatch.domain.applications): exact
limits, written here as numbers rather than read from the module under test, so that changing
a limit fails a test.

Each was found by mutation testing (`make mutation`): changing the rule broke no other test.
"""

from __future__ import annotations

import hashlib
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dispatch.domain import credentials
from dispatch.domain.accounts import (
    InvalidCallbackUrl,
    InvalidIdentifier,
    create_account,
    validate_callback_url,
)
from dispatch.domain.applications import normalized_public_key, verify_bearer_token
from dispatch.domain.credentials import hash_secret, verify_secret

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
APPLICATION_ID = str(uuid.uuid4())
APPLICATION = {
    "application_id": APPLICATION_ID,
    "account_id": "account-1",
    "public_key": normalized_public_key(
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ),
}


# -- callback URLs ------------------------------------------------------------------------------------


def test_an_account_callback_url_may_have_2000_characters_but_not_2001() -> None:
    url = "https://shop.example/" + "x" * 1979
    assert len(url) == 2000
    assert validate_callback_url(url) == url
    with pytest.raises(InvalidCallbackUrl):
        validate_callback_url(url + "x")


# -- chosen identifiers ---------------------------------------------------------------------------


@pytest.mark.parametrize("chosen", ["Acme-Shop_1.eu", "ACME", "acme", "0", "x" * 64])
def test_operators_may_choose_ids_and_keys_of_letters_of_either_case_digits_dots_dashes_underscores(
    accounts, chosen
) -> None:
    created = create_account(accounts, account_id=chosen, api_key=chosen, now="2025-01-01T00:00:00.000Z")
    assert (created.account_id, created.api_key) == (chosen, chosen)


@pytest.mark.parametrize("chosen", ["x" * 65, "acme shop", "acme/eu"])
def test_other_ids_are_refused(accounts, chosen) -> None:
    with pytest.raises(InvalidIdentifier):
        create_account(accounts, account_id=chosen, now="2025-01-01T00:00:00.000Z")


# -- API secret hashes ------------------------------------------------------------------------------


def test_api_secrets_are_hashed_with_100000_pbkdf2_rounds() -> None:
    stored = hash_secret("secret", salt=b"\x00" * 16)
    expected = hashlib.pbkdf2_hmac("sha256", b"secret", b"\x00" * 16, 100_000).hex()
    assert stored == f"pbkdf2_sha256$100000${'00' * 16}${expected}"


@pytest.mark.parametrize(("rounds", "computed"), [(10_000_000, True), (10_000_001, False)])
def test_a_stored_hash_asking_for_more_than_ten_million_rounds_is_refused_without_computing_it(
    monkeypatch, rounds, computed
) -> None:
    # Given a stored hash (data) naming its own number of rounds
    calls: list[int] = []

    def pbkdf2_hmac(name, secret, salt, iterations):  # cheap stand-in: only the call matters here
        calls.append(iterations)
        return b"\x00" * 32

    monkeypatch.setattr(credentials.hashlib, "pbkdf2_hmac", pbkdf2_hmac)
    stored = f"pbkdf2_sha256${rounds}${'00' * 16}${'00' * 32}"
    # When a secret is checked against it
    verified = verify_secret("secret", stored)
    # Then up to ten million rounds are computed; more are refused before costing anything
    assert verified is computed
    assert calls == ([rounds] if computed else [])


# -- bearer tokens ----------------------------------------------------------------------------------


def token(*, iat: int, exp: int) -> str:
    claims = {"application_id": APPLICATION_ID, "iat": iat, "exp": exp, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, KEY, algorithm="RS256")


@pytest.mark.parametrize(("lifetime", "accepted"), [(24 * 3600, True), (24 * 3600 + 1, False)])
def test_a_bearer_token_may_live_24_hours_but_not_a_second_more(lifetime, accepted) -> None:
    now = int(time.time())
    application = verify_bearer_token(token(iat=now, exp=now + lifetime), {APPLICATION_ID: APPLICATION}.get)
    assert (application == APPLICATION) is accepted
