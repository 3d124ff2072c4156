"""Rules of accounts and credentials that the other account tests leave unchecked
(dispatch.domain.accounts, dispatch.domain.credentials, dispatch.domain.applications): exact
limits, written here as numbers rather than read from the module under test, so that changing
a limit fails a test.

Each was found by mutation testing (`make mutation`): changing the rule broke no other test.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fakes import rsa_application

from dispatch.domain import credentials
from dispatch.domain.accounts import (
    InvalidCallbackUrl,
    InvalidIdentifier,
    create_account,
    validate_callback_url,
)
from dispatch.domain.applications import (
    InvalidPublicKey,
    _claims_acceptable,
    normalized_public_key,
    verify_bearer_token,
)
from dispatch.domain.credentials import hash_secret, verify_secret

KEY, APPLICATION = rsa_application()
APPLICATION_ID = APPLICATION["application_id"]


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


# -- what an operator is told (admin/accounts.py prints these) ------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "must be an absolute URL of at most 2000 characters, without spaces"),
        ("https://shop.example/a b", "must be an absolute URL of at most 2000 characters, without spaces"),
        ("https://[::1/", "has a malformed host"),
        ("shop.example/callbacks", "must be an absolute https URL"),
        ("http://shop.example/callbacks", "must use https"),
    ],
)
def test_a_refused_callback_url_says_what_is_wrong(url, message) -> None:
    with pytest.raises(InvalidCallbackUrl) as raised:
        validate_callback_url(url)
    assert str(raised.value) == message


@pytest.mark.parametrize("field", ["account_id", "api_key"])
def test_a_refused_identifier_names_the_field_and_the_rule(accounts, field) -> None:
    with pytest.raises(InvalidIdentifier) as raised:
        create_account(accounts, **{field: "no spaces"}, now="2025-01-01T00:00:00.000Z")
    assert str(raised.value) == f"{field} must be 1-64 letters, digits, '.', '_' or '-'"


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("not a key", "not a PEM-encoded public key"),
        (None, "not an RSA public key (RS256 needs one)"),
    ],
)
def test_a_refused_public_key_says_why(pem, message) -> None:
    if pem is None:  # an EC key: a valid PEM, but not RSA
        pem = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
    with pytest.raises(InvalidPublicKey) as raised:
        normalized_public_key(pem)
    assert str(raised.value) == message


# -- secrets and Basic credentials ------------------------------------------------------------------


def test_generated_secrets_carry_24_and_32_random_bytes() -> None:
    # url-safe base64 without padding: 24 bytes -> 32 characters, 32 bytes -> 43
    assert len(credentials.new_api_secret()) == 32
    assert len(credentials.new_signature_secret()) == 43


@pytest.mark.parametrize("garbage", ["!", "*", "\u00e9"])
def test_basic_credentials_with_characters_outside_base64_are_refused(garbage) -> None:
    # A lenient decoder would skip the stray character and accept the credentials.
    encoded = base64.b64encode(b"key-1:secret").decode()
    assert credentials.parse_basic(f"Basic {encoded}") == ("key-1", "secret")
    assert credentials.parse_basic(f"Basic {encoded[:4]}{garbage}{encoded[4:]}") is None


# -- found by the run of 2026-11-29 -----------------------------------------------------------------


def test_an_account_callback_url_on_this_machine_is_refused_unless_the_operator_allows_it(accounts) -> None:
    url = "http://127.0.0.1:8080/callbacks"
    with pytest.raises(InvalidCallbackUrl):
        create_account(accounts, account_id="acc-local", callback_url=url, now="2025-01-01T00:00:00.000Z")
    create_account(
        accounts,
        account_id="acc-local",
        callback_url=url,
        allow_loopback_callback=True,
        now="2025-01-01T00:00:00.000Z",
    )
    assert accounts.get_account("acc-local")["callback_url"] == url


def test_a_stored_hash_of_a_single_round_still_verifies() -> None:
    # Any number of rounds from 1 to ten million is honoured as stored (data, not a choice made here)
    assert verify_secret("secret", hash_secret("secret", iterations=1)) is True


def test_a_missing_authorization_header_has_no_scheme_and_no_credentials() -> None:
    assert credentials.auth_scheme(None) == ("", "")


def test_a_bearer_token_whose_jti_is_not_a_string_is_refused() -> None:
    now = int(time.time())
    claims = {"application_id": APPLICATION_ID, "iat": now, "exp": now + 60, "jti": 12345}
    signed = jwt.encode(claims, KEY, algorithm="RS256")
    assert verify_bearer_token(signed, {APPLICATION_ID: APPLICATION}.get) is None


@pytest.mark.parametrize("jti", [12345, ""])
def test_claims_without_a_jti_string_are_refused_whatever_the_jwt_library_checked(jti) -> None:
    # Whatever PyJWT checks of `jti` (versions differ), ours refuses anything but a non-empty string
    now = int(time.time())
    claims = {"application_id": APPLICATION_ID, "iat": now, "exp": now + 60, "jti": jti}
    assert _claims_acceptable(claims, APPLICATION_ID) is False


@pytest.mark.parametrize(("ahead", "accepted"), [(30, True), (31, False)])
def test_a_bearer_token_issued_up_to_30_seconds_in_the_future_is_accepted(
    monkeypatch, ahead, accepted
) -> None:
    # Clocks differ: an `iat` exactly the leeway ahead is still accepted, a second more is not
    now = int(time.time())
    monkeypatch.setattr(time, "time", lambda: now)
    signed = token(iat=now + ahead, exp=now + 600)
    assert (verify_bearer_token(signed, {APPLICATION_ID: APPLICATION}.get) == APPLICATION) is accepted


@pytest.mark.parametrize(("age", "accepted"), [(930, True), (931, False)])
def test_a_bearer_token_without_exp_lives_15_minutes_plus_the_30_second_leeway(
    monkeypatch, age, accepted
) -> None:
    # Given a token without `exp` issued 15 minutes and 30 seconds ago (its default expiry is
    # iat + 15 minutes): exactly at the end of the leeway it is still accepted, a second later not
    now = int(time.time())
    monkeypatch.setattr(time, "time", lambda: now)
    claims = {"application_id": APPLICATION_ID, "iat": now - age, "jti": str(uuid.uuid4())}
    signed = jwt.encode(claims, KEY, algorithm="RS256")
    assert (verify_bearer_token(signed, {APPLICATION_ID: APPLICATION}.get) == APPLICATION) is accepted
