"""Signed status webhooks: HS256 JWT bearer tokens carrying the body's SHA-256
(dispatch.integrations.signatures)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import jwt
import pytest

from dispatch.integrations.signatures import (
    DEFAULT_MAX_AGE_SECONDS,
    InvalidSecretValue,
    InvalidSignature,
    SignatureSecrets,
    parse_signature_secret,
    payload_hash,
    sign_webhook,
    verify_webhook,
)

SECRET = "signature-secret-" + "0123456789abcdef" * 4
API_KEY = "abcd1234"
BODY = json.dumps(
    {"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "status": "read", "client_ref": "x:0"}
).encode()
NOW = 1_735_787_045  # a fixed "now" for the freshness checks


def signed(body: bytes = BODY, *, issued_at: int = NOW, secret: str = SECRET) -> str:
    return sign_webhook(body, secret=secret, api_key=API_KEY, issued_at=issued_at)


def bearer(claims: dict, *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return "Bearer " + jwt.encode(claims, secret, algorithm=algorithm)


def test_payload_hash_is_the_hex_sha256_of_the_body() -> None:
    assert payload_hash(BODY) == hashlib.sha256(BODY).hexdigest()


def test_a_signed_webhook_verifies_and_yields_its_claims() -> None:
    # Given a header signed for the body
    header = signed()
    # When it is verified with the same secret and body
    claims = verify_webhook(header, BODY, secret=SECRET, now=NOW)
    # Then it is a bearer token whose claims name the key, the time and the body's hash
    assert header.startswith("Bearer ")
    assert claims["api_key"] == API_KEY
    assert claims["iat"] == NOW
    assert claims["payload_hash"] == hashlib.sha256(BODY).hexdigest()
    assert claims["jti"]


def test_signing_without_a_time_uses_the_current_time() -> None:
    before = int(time.time())
    claims = verify_webhook(sign_webhook(BODY, secret=SECRET, api_key=API_KEY), BODY, secret=SECRET)
    assert before <= claims["iat"] <= int(time.time())


def test_each_signature_has_its_own_jti() -> None:
    first = verify_webhook(signed(), BODY, secret=SECRET, now=NOW)
    second = verify_webhook(signed(), BODY, secret=SECRET, now=NOW)
    assert first["jti"] != second["jti"]


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="invalid token"):
        verify_webhook(
            signed(secret="another-secret-" + "0123456789abcdef" * 4), BODY, secret=SECRET, now=NOW
        )


@pytest.mark.parametrize(
    "tampered",
    [
        BODY.replace(b'"read"', b'"rejected"'),
        BODY + b" ",
        b"",
    ],
)
def test_a_body_other_than_the_signed_one_is_refused(tampered: bytes) -> None:
    with pytest.raises(InvalidSignature, match="payload_hash"):
        verify_webhook(signed(), tampered, secret=SECRET, now=NOW)


@pytest.mark.parametrize("age", [0, 1, 299, 300, -1, -60])
def test_a_token_within_max_age_or_a_little_clock_skew_is_accepted(age: int) -> None:
    verify_webhook(signed(issued_at=NOW - age), BODY, secret=SECRET, now=NOW, max_age_seconds=300)


@pytest.mark.parametrize("age", [301, 3600, 86400 * 365])
def test_a_token_older_than_max_age_is_refused_as_stale(age: int) -> None:
    with pytest.raises(InvalidSignature, match="stale"):
        verify_webhook(signed(issued_at=NOW - age), BODY, secret=SECRET, now=NOW, max_age_seconds=300)


@pytest.mark.parametrize("ahead", [61, 3600, 86400 * 365])
def test_a_token_issued_in_the_far_future_is_refused(ahead: int) -> None:
    with pytest.raises(InvalidSignature, match="stale"):
        verify_webhook(signed(issued_at=NOW + ahead), BODY, secret=SECRET, now=NOW)


def test_max_age_is_configurable() -> None:
    header = signed(issued_at=NOW - 11)
    verify_webhook(header, BODY, secret=SECRET, now=NOW, max_age_seconds=11)
    with pytest.raises(InvalidSignature, match="stale"):
        verify_webhook(header, BODY, secret=SECRET, now=NOW, max_age_seconds=10)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic YWJjZDEyMzQ6c2VjcmV0",
        "Token " + jwt.encode({"iat": NOW, "payload_hash": payload_hash(BODY)}, SECRET, algorithm="HS256"),
        "Bearer not-a-jwt",
        "Bearer é",
    ],
)
def test_a_missing_malformed_or_non_bearer_authorization_is_refused(authorization) -> None:
    with pytest.raises(InvalidSignature):
        verify_webhook(authorization, BODY, secret=SECRET, now=NOW)


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": NOW, "api_key": API_KEY},  # no payload_hash: the body would be unsigned
        {"payload_hash": payload_hash(BODY), "api_key": API_KEY},  # no iat: could never go stale
    ],
)
def test_a_token_without_a_required_claim_is_refused(claims: dict) -> None:
    with pytest.raises(InvalidSignature, match="invalid token"):
        verify_webhook(bearer(claims), BODY, secret=SECRET, now=NOW)


def test_an_unsigned_alg_none_token_is_refused() -> None:
    claims = {"iat": NOW, "payload_hash": payload_hash(BODY), "api_key": API_KEY}
    header = "Bearer " + jwt.encode(claims, None, algorithm="none")
    with pytest.raises(InvalidSignature):
        verify_webhook(header, BODY, secret=SECRET, now=NOW)


def test_a_token_signed_with_another_algorithm_is_refused() -> None:
    claims = {"iat": NOW, "payload_hash": payload_hash(BODY), "api_key": API_KEY}
    with pytest.raises(InvalidSignature):
        verify_webhook(bearer(claims, algorithm="HS512"), BODY, secret=SECRET, now=NOW)


# -- rotation: the current and the previous secret ------------------------------------------------

NEW_SECRET = "new-signature-secret-" + "fedcba9876543210" * 4


def test_during_a_rotation_a_webhook_signed_with_either_secret_passes() -> None:
    for secret in (SECRET, NEW_SECRET):
        claims = verify_webhook(signed(secret=secret), BODY, secret=[NEW_SECRET, SECRET], now=NOW)
        assert claims["api_key"] == API_KEY


def test_a_third_secret_is_refused_during_a_rotation() -> None:
    with pytest.raises(InvalidSignature):
        verify_webhook(signed(secret="x" * 40), BODY, secret=[NEW_SECRET, SECRET], now=NOW)


def test_a_stale_webhook_is_refused_whichever_secret_signed_it() -> None:
    with pytest.raises(InvalidSignature, match="stale"):
        verify_webhook(
            signed(secret=SECRET, issued_at=NOW - DEFAULT_MAX_AGE_SECONDS - 60),
            BODY,
            secret=[NEW_SECRET, SECRET],
            now=NOW,
        )


def test_a_plain_string_secret_is_the_current_one_only() -> None:
    secrets = parse_signature_secret(SECRET)

    assert secrets == SignatureSecrets(current=SECRET)
    assert secrets.accepted(datetime.now(UTC)) == [SECRET]


def test_the_previous_secret_is_accepted_until_its_end_of_overlap() -> None:
    stored = json.dumps({"current": NEW_SECRET, "previous": SECRET, "previous_until": "2026-03-01T12:00:00Z"})
    secrets = parse_signature_secret(stored)

    assert secrets.accepted(datetime(2026, 3, 1, 11, 59, tzinfo=UTC)) == [NEW_SECRET, SECRET]
    assert secrets.accepted(datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) == [NEW_SECRET]


def test_without_an_end_the_previous_secret_is_accepted_until_removed() -> None:
    secrets = parse_signature_secret(json.dumps({"current": NEW_SECRET, "previous": SECRET}))

    assert secrets.accepted(datetime(2099, 1, 1, tzinfo=UTC)) == [NEW_SECRET, SECRET]


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "   ",
        "{not json",
        "{}",
        json.dumps({"previous": SECRET}),
        json.dumps({"current": ""}),
        json.dumps({"current": NEW_SECRET, "previous": 42}),
        json.dumps({"current": NEW_SECRET, "previous": SECRET, "previous_until": "tomorrow"}),
        json.dumps({"current": NEW_SECRET, "previous": SECRET, "previous_until": "2026-03-01T12:00:00"}),
    ],
)
def test_a_malformed_stored_secret_is_reported_without_quoting_it(stored) -> None:
    with pytest.raises(InvalidSecretValue) as raised:
        parse_signature_secret(stored)
    assert SECRET not in str(raised.value) and NEW_SECRET not in str(raised.value)


# -- the default age limit: as long as a provider retries ------------------------------------------


@pytest.mark.parametrize("age", [301, 3600, 24 * 3600, 25 * 3600])
def test_by_default_a_status_signed_up_to_25_hours_ago_is_accepted(age: int) -> None:
    # Vonage retries a webhook for 24 h with its original signature: statuses are idempotent.
    assert DEFAULT_MAX_AGE_SECONDS == 25 * 3600
    verify_webhook(signed(issued_at=NOW - age), BODY, secret=SECRET, now=NOW)


def test_by_default_a_status_signed_more_than_25_hours_ago_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="stale"):
        verify_webhook(signed(issued_at=NOW - 25 * 3600 - 1), BODY, secret=SECRET, now=NOW)


def test_an_old_signature_still_refuses_a_tampered_body() -> None:
    with pytest.raises(InvalidSignature, match="payload_hash"):
        verify_webhook(signed(issued_at=NOW - 3600), BODY + b" ", secret=SECRET, now=NOW)


# -- the bearer scheme and the iat claim -----------------------------------------------------------


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    header = scheme + signed().removeprefix("Bearer")
    assert verify_webhook(header, BODY, secret=SECRET, now=NOW)["iat"] == NOW


@pytest.mark.parametrize(
    "iat", ["abc", "nan", "1735787045", str(NOW), float("nan"), float("inf"), True, None, [NOW], 10**400]
)
def test_a_token_whose_iat_is_not_a_finite_number_is_refused(iat) -> None:
    # A signed token with `"iat": "abc"` was a 500, and `"nan"` skipped the age check altogether.
    claims = {"iat": iat, "payload_hash": payload_hash(BODY), "api_key": API_KEY}
    with pytest.raises(InvalidSignature):
        verify_webhook(bearer(claims), BODY, secret=SECRET, now=NOW)


def test_a_fractional_iat_is_a_number_like_any_other() -> None:
    claims = {"iat": NOW - 0.5, "payload_hash": payload_hash(BODY), "api_key": API_KEY}
    assert verify_webhook(bearer(claims), BODY, secret=SECRET, now=NOW)["iat"] == NOW - 0.5


# -- the same tokens as PyJWT (HS256 is signed and checked with hmac; see the module docstring) ----


def test_a_signed_webhook_is_a_jwt_that_pyjwt_verifies() -> None:
    token = signed().removeprefix("Bearer ")

    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_iat": False})

    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert claims["payload_hash"] == payload_hash(BODY)
    assert claims["api_key"] == API_KEY


def test_a_token_pyjwt_signed_with_more_claims_verifies() -> None:
    claims = {"iat": NOW, "payload_hash": payload_hash(BODY), "iss": "Vonage", "exp": NOW + 60, "nbf": NOW}
    assert verify_webhook(bearer(claims), BODY, secret=SECRET, now=NOW)["iss"] == "Vonage"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"exp": NOW}, "expired"),
        ({"exp": NOW - 3600}, "expired"),
        ({"exp": "tomorrow"}, "expired"),
        ({"nbf": NOW + 1}, "not yet valid"),
        ({"aud": "someone-else"}, "audience"),
        ({"payload_hash": None}, "payload_hash claim is missing"),
    ],
)
def test_a_token_pyjwt_would_refuse_is_refused(extra: dict, reason: str) -> None:
    claims = {"iat": NOW, "payload_hash": payload_hash(BODY), **extra}
    with pytest.raises(InvalidSignature, match=reason):
        verify_webhook(bearer(claims), BODY, secret=SECRET, now=NOW)


def test_a_signature_over_other_claims_is_refused() -> None:
    # A valid token's signature moved onto claims its signer never signed
    header, _, signature = signed().removeprefix("Bearer ").split(".")
    forged = jwt.encode({"iat": NOW, "payload_hash": payload_hash(b"other")}, "x" * 32).split(".")[1]
    with pytest.raises(InvalidSignature, match="signature"):
        verify_webhook(f"Bearer {header}.{forged}.{signature}", b"other", secret=SECRET, now=NOW)


@pytest.mark.parametrize(
    "token",
    [
        "a.b",
        "a.b.c.d",
        "e30.W10.c2ln",  # {} . [] . "sig": the header names no algorithm
        "eyJhbGciOiJIUzI1NiJ9.*.c2ln",  # not base64url
        "eyJhbGciOiJIUzI1NiJ9.gA.*",
        # A header nested deeper than the parser goes: refused, not a 500.
        base64.urlsafe_b64encode(b"[" * 5000).decode().rstrip("=") + ".e30.c2ln",
    ],
)
def test_a_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidSignature, match="invalid token"):
        verify_webhook(f"Bearer {token}", BODY, secret=SECRET, now=NOW)


def test_claims_that_are_not_an_object_are_refused() -> None:
    header = jwt.utils.base64url_encode(b'{"alg":"HS256"}').decode()
    payload = jwt.utils.base64url_encode(b"[1]").decode()
    signature = jwt.utils.base64url_encode(
        hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    ).decode()
    with pytest.raises(InvalidSignature, match="not an object"):
        verify_webhook(f"Bearer {header}.{payload}.{signature}", BODY, secret=SECRET, now=NOW)
