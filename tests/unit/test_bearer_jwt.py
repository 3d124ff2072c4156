"""Bearer JWT authentication (dispatch.domain.applications, dispatch.domain.accounts.authenticate):
RS256 only, signed by a registered application's key, within its lifetime; keys are generated here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from dispatch.api.resolver import AUTH_ERRORS
from dispatch.domain.accounts import Identity, authenticate, create_account, refusal_reason
from dispatch.domain.applications import (
    DEFAULT_LIFETIME_SECONDS,
    LEEWAY_SECONDS,
    MAX_LIFETIME_SECONDS,
    InvalidPublicKey,
    normalized_public_key,
    verify_bearer_token,
)
from dispatch.storage.account_repository import AccountRepository

ACCOUNT_ID = "account-1"


def _rsa(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_pem(private_key: Any, form=serialization.PublicFormat.SubjectPublicKeyInfo) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, form).decode()


PRIVATE_KEY, OTHER_KEY = _rsa(), _rsa()


@pytest.fixture(scope="module")
def accounts(module_table) -> AccountRepository:
    """The real repository on moto, with two accounts, for the whole module."""
    accounts = AccountRepository(module_table)
    create_account(accounts, account_id=ACCOUNT_ID, api_key="key-1", now="2025-01-01T00:00:00.000Z")
    create_account(accounts, account_id="account-2", api_key="key-2", now="2025-01-01T00:00:00.000Z")
    return accounts


@pytest.fixture(scope="module")
def application_id(accounts) -> str:
    return accounts.register_application(ACCOUNT_ID, public_pem(PRIVATE_KEY), "web")


def claims(application_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {"application_id": application_id, "iat": now, "exp": now + 900, "jti": str(uuid.uuid4())}
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def token(application_id: str, *, key: Any = PRIVATE_KEY, algorithm: str = "RS256", **overrides) -> str:
    return jwt.encode(claims(application_id, **overrides), key, algorithm=algorithm)


def bearer(value: str) -> str:
    return f"Bearer {value}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], payload: dict[str, Any], sign) -> str:
    """A token built without PyJWT, which refuses to build the dangerous ones."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


# -- accepted ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(accounts, application_id, scheme) -> None:
    identity = authenticate(f"{scheme} {token(application_id)}", accounts)
    assert identity is not None and identity.application_id == application_id


def test_a_token_signed_by_a_registered_application_authenticates_as_its_account(
    accounts, application_id
) -> None:
    identity = authenticate(bearer(token(application_id)), accounts)

    assert identity == Identity(account_id=ACCOUNT_ID, auth_method="jwt", application_id=application_id)
    assert identity.context() == {
        "account_id": ACCOUNT_ID,
        "auth_method": "jwt",
        "application_id": application_id,
    }


def test_clock_skew_within_the_leeway_is_tolerated(accounts, application_id) -> None:
    now = int(time.time())
    skewed = LEEWAY_SECONDS - 10
    assert authenticate(bearer(token(application_id, iat=now + skewed, exp=now + 600)), accounts)
    assert authenticate(bearer(token(application_id, iat=now - 600, exp=now - skewed)), accounts)


def test_a_lifetime_of_exactly_24_hours_is_accepted(accounts, application_id) -> None:
    now = int(time.time())
    assert authenticate(bearer(token(application_id, iat=now, exp=now + MAX_LIFETIME_SECONDS)), accounts)


def test_extra_claims_such_as_vonage_acl_and_sub_are_ignored(accounts, application_id) -> None:
    extra = token(application_id, sub="alice", acl={"paths": {"/*/users/**": {}}}, nbf=int(time.time()))
    assert authenticate(bearer(extra), accounts) is not None


def test_a_pkcs1_public_key_is_accepted_and_stored_as_subject_public_key_info(accounts) -> None:
    pkcs1 = public_pem(PRIVATE_KEY, serialization.PublicFormat.PKCS1)
    assert "BEGIN RSA PUBLIC KEY" in pkcs1

    application_id = accounts.register_application("account-2", pkcs1)

    stored = accounts.get_application(application_id)["public_key"]
    assert stored == public_pem(PRIVATE_KEY) and stored.startswith("-----BEGIN PUBLIC KEY-----")
    assert authenticate(bearer(token(application_id)), accounts).account_id == "account-2"


# -- refused -------------------------------------------------------------------------------------


def test_an_expired_token_is_refused(accounts, application_id) -> None:
    now = int(time.time())
    expired = token(application_id, iat=now - 900, exp=now - LEEWAY_SECONDS - 5)
    assert authenticate(bearer(expired), accounts) is None


def test_a_token_issued_in_the_future_is_refused(accounts, application_id) -> None:
    now = int(time.time())
    future = token(application_id, iat=now + LEEWAY_SECONDS + 60, exp=now + 900)
    assert authenticate(bearer(future), accounts) is None


def test_a_token_not_yet_valid_by_its_nbf_is_refused(accounts, application_id) -> None:
    later = token(application_id, nbf=int(time.time()) + LEEWAY_SECONDS + 60)
    assert authenticate(bearer(later), accounts) is None


def test_a_token_living_longer_than_24_hours_is_refused(accounts, application_id) -> None:
    now = int(time.time())
    long_lived = token(application_id, iat=now, exp=now + MAX_LIFETIME_SECONDS + 1)
    assert authenticate(bearer(long_lived), accounts) is None


def test_a_token_that_expires_before_it_was_issued_is_refused(accounts, application_id) -> None:
    now = int(time.time())
    assert authenticate(bearer(token(application_id, iat=now + 10, exp=now + 5)), accounts) is None


def test_a_token_signed_with_another_key_is_refused(accounts, application_id) -> None:
    assert authenticate(bearer(token(application_id, key=OTHER_KEY)), accounts) is None


def test_a_token_naming_an_unknown_application_is_refused(accounts) -> None:
    assert authenticate(bearer(token(str(uuid.uuid4()))), accounts) is None


def test_a_token_naming_another_accounts_application_fails_with_this_accounts_key(accounts) -> None:
    # account-2's application has its own key: PRIVATE_KEY's owner cannot pose as it with OTHER_KEY.
    other_application = accounts.register_application("account-2", public_pem(OTHER_KEY))
    assert authenticate(bearer(token(other_application, key=PRIVATE_KEY)), accounts) is None
    assert authenticate(bearer(token(other_application, key=OTHER_KEY)), accounts).account_id == "account-2"


# -- no exp: iat + 15 minutes, as Vonage does --------------------------------------------------------


def test_a_token_without_exp_is_accepted_for_15_minutes_after_its_iat(accounts, application_id) -> None:
    # Given tokens signed as a Dispatch client signs them: application_id, iat and jti only
    now = int(time.time())
    fresh = token(application_id, iat=now - 60, exp=None)
    nearly_stale = token(application_id, iat=now - DEFAULT_LIFETIME_SECONDS + 60, exp=None)
    stale = token(application_id, iat=now - DEFAULT_LIFETIME_SECONDS - LEEWAY_SECONDS - 5, exp=None)
    # Then each is accepted until iat + 15 minutes (and the leeway), and refused after
    assert authenticate(bearer(fresh), accounts).application_id == application_id
    assert authenticate(bearer(nearly_stale), accounts) is not None
    assert authenticate(bearer(stale), accounts) is None
    assert DEFAULT_LIFETIME_SECONDS == 15 * 60


def test_a_token_without_exp_issued_in_the_future_is_still_refused(accounts, application_id) -> None:
    future = token(application_id, iat=int(time.time()) + LEEWAY_SECONDS + 60, exp=None)
    assert authenticate(bearer(future), accounts) is None


@pytest.mark.parametrize("missing", ["application_id", "iat", "jti"])
def test_a_token_without_a_required_claim_is_refused(accounts, application_id, missing) -> None:
    payload = claims(application_id)
    del payload[missing]
    assert authenticate(bearer(jwt.encode(payload, PRIVATE_KEY, algorithm="RS256")), accounts) is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"jti": ""},
        {"jti": 42},
        {"iat": "1700000000"},
        {"iat": True},
        {"iat": "1700000000", "exp": None},
        {"iat": float("nan"), "exp": None},
        {"exp": "soon"},
    ],
)
def test_a_token_with_ill_typed_claims_is_refused(accounts, application_id, overrides) -> None:
    payload = claims(application_id) | overrides
    assert authenticate(bearer(jwt.encode(payload, PRIVATE_KEY, algorithm="RS256")), accounts) is None


@pytest.mark.parametrize("bad_id", [42, "", "not-a-uuid", "APPLICATION#x"])
def test_a_token_whose_application_id_is_not_a_uuid_is_refused(accounts, bad_id) -> None:
    payload = claims(str(uuid.uuid4())) | {"application_id": bad_id}
    assert authenticate(bearer(jwt.encode(payload, PRIVATE_KEY, algorithm="RS256")), accounts) is None


def test_alg_none_is_refused(accounts, application_id) -> None:
    unsigned = hand_made({"alg": "none", "typ": "JWT"}, claims(application_id), lambda _: b"")
    assert authenticate(bearer(unsigned), accounts) is None
    assert authenticate(bearer(unsigned.rstrip(".") + "."), accounts) is None


def test_hs256_keyed_with_the_public_key_is_refused(accounts, application_id) -> None:
    # Algorithm confusion: the public key is public, so an HMAC keyed with it proves nothing.
    public_key = accounts.get_application(application_id)["public_key"].encode()
    forged = hand_made(
        {"alg": "HS256", "typ": "JWT"},
        claims(application_id),
        lambda data: hmac.new(public_key, data, hashlib.sha256).digest(),
    )
    assert authenticate(bearer(forged), accounts) is None


@pytest.mark.parametrize("algorithm", ["RS512", "PS256"])
def test_other_rsa_algorithms_are_refused_even_with_the_right_key(accounts, application_id, algorithm):
    assert authenticate(bearer(token(application_id, algorithm=algorithm)), accounts) is None


def test_a_key_embedded_in_the_token_header_is_never_used(accounts, application_id) -> None:
    attacker = _rsa()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    forged = jwt.encode(claims(application_id), attacker, algorithm="RS256", headers={"jwk": jwk})
    assert authenticate(bearer(forged), accounts) is None


@pytest.mark.parametrize(
    "value", ["", "abc", "abc.def.ghi", "a.b", "...", "eyJhbGciOiJSUzI1NiJ9.e30.", "x" * 10_000]
)
def test_malformed_tokens_are_refused(accounts, value) -> None:
    assert authenticate(bearer(value), accounts) is None
    assert verify_bearer_token(value, accounts.get_application) is None


def test_a_stored_key_that_no_longer_parses_refuses_instead_of_failing(application_id) -> None:
    broken = {"application_id": application_id, "account_id": ACCOUNT_ID, "public_key": "garbage"}
    assert verify_bearer_token(token(application_id), lambda _: broken) is None


# -- registering keys ----------------------------------------------------------------------------


def test_only_rsa_public_keys_of_at_least_2048_bits_can_be_registered(accounts) -> None:
    with pytest.raises(InvalidPublicKey, match="1024 bits"):
        normalized_public_key(public_pem(_rsa(1024)))
    with pytest.raises(InvalidPublicKey, match="not an RSA"):
        normalized_public_key(public_pem(ec.generate_private_key(ec.SECP256R1())))
    private_pem = PRIVATE_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for not_a_public_key in (private_pem, b"", "hello", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END"):
        with pytest.raises(InvalidPublicKey):
            normalized_public_key(not_a_public_key)
    with pytest.raises(InvalidPublicKey):
        accounts.register_application(ACCOUNT_ID, "not a key")


def test_a_3072_bit_key_works(accounts) -> None:
    key = _rsa(3072)
    application_id = accounts.register_application(ACCOUNT_ID, public_pem(key))
    assert authenticate(bearer(token(application_id, key=key)), accounts).application_id == application_id


# -- what the authorizer reports -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("Basic dGVzdDp3cm9uZw==", "invalid_credentials"),
        ("Bearer abc.def.ghi", "invalid_token"),
        ("bearer abc.def.ghi", "invalid_token"),  # schemes are case-insensitive (RFC 7235)
        ("basic dGVzdDp3cm9uZw==", "invalid_credentials"),
        ("Bearer", "invalid_token"),  # the scheme without a token
        ("Digest x", "unsupported_scheme"),
        ("", "unsupported_scheme"),
        (None, "unsupported_scheme"),
    ],
)
def test_a_refusal_names_its_reason(authorization, reason) -> None:
    assert refusal_reason(authorization) == reason
    assert reason in AUTH_ERRORS
