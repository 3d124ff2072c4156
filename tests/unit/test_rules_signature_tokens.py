"""The signed-webhook token, rule by rule (dispatch.integrations.signatures): how the stored
signature secret is read, which tokens are refused and with what reason, and that the format is
the JWT other libraries make and read.

Found by mutation testing (`make mutation`): each rule here could change without another test
failing.
"""

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
    CLOCK_SKEW_SECONDS,
    InvalidSecretValue,
    InvalidSignature,
    SignatureSecrets,
    issued_at,
    parse_signature_secret,
    payload_hash,
    sign_webhook,
    verify_webhook,
)

SECRET = "signature-secret-" + "0123456789abcdef" * 4
OTHER_SECRET = "another-secret-" + "fedcba9876543210" * 4
BODY = b'{"message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","status":"read"}'
NOW = 1_735_787_045


def segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def token(claims: object, *, header: object = None, secret: str = SECRET) -> str:
    """A bearer header signed by PyJWT, or by hand when the header or claims are unusual."""
    if header is None and isinstance(claims, dict):
        return "Bearer " + jwt.encode(claims, secret, algorithm="HS256")
    signing_input = f"{segment(header or {'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"Bearer {signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def claims(**changes: object) -> dict:
    base: dict = {"api_key": "abcd1234", "iat": NOW, "jti": "j", "payload_hash": payload_hash(BODY)}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def refusal(authorization: str | None, *, secret: object = SECRET, now: float = NOW, **kwargs) -> str:
    with pytest.raises(InvalidSignature) as raised:
        verify_webhook(authorization, BODY, secret=secret, now=now, **kwargs)  # type: ignore[arg-type]
    return str(raised.value)


# -- the stored secret ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   ", None])
def test_an_empty_stored_secret_is_refused(value) -> None:
    with pytest.raises(InvalidSecretValue, match="^the signature secret is empty$"):
        parse_signature_secret(value)


def test_a_plain_stored_secret_is_the_current_one_without_its_surrounding_spaces() -> None:
    assert parse_signature_secret(f"  {SECRET}\n") == SignatureSecrets(current=SECRET)


def test_a_stored_secret_that_starts_like_json_must_parse() -> None:
    with pytest.raises(InvalidSecretValue, match="^the signature secret looks like JSON but does not parse$"):
        parse_signature_secret('{"current": ')


@pytest.mark.parametrize("current", [None, "", 5])
def test_a_rotation_needs_a_non_empty_current_secret(current) -> None:
    value = json.dumps({"current": current} if current is not None else {"previous": "old"})
    with pytest.raises(InvalidSecretValue) as raised:
        parse_signature_secret(value)
    assert str(raised.value) == 'the signature secret JSON needs a non-empty "current" string'


@pytest.mark.parametrize("previous", ["", 7, ["old"]])
def test_a_previous_secret_when_given_must_be_a_non_empty_string(previous) -> None:
    with pytest.raises(InvalidSecretValue) as raised:
        parse_signature_secret(json.dumps({"current": "new", "previous": previous}))
    assert str(raised.value) == '"previous" must be a non-empty string when given'


@pytest.mark.parametrize("until", ["2026-01-01T12:00:00", "next week", 1767268800, ""])
def test_previous_until_must_be_an_iso_time_with_a_zone(until) -> None:
    with pytest.raises(InvalidSecretValue) as raised:
        parse_signature_secret(json.dumps({"current": "new", "previous": "old", "previous_until": until}))
    assert (
        str(raised.value)
        == '"previous_until" must be an ISO 8601 time with a zone, e.g. 2026-01-01T12:00:00Z'
    )


def test_a_rotation_is_read_whole() -> None:
    value = json.dumps({"current": "new", "previous": "old", "previous_until": "2026-01-01T12:00:00Z"})
    assert parse_signature_secret(value) == SignatureSecrets(
        current="new", previous="old", previous_until=datetime(2026, 1, 1, 12, tzinfo=UTC)
    )


def test_a_rotation_without_an_end_or_a_previous_secret_is_read_too() -> None:
    assert parse_signature_secret('{"current": "new", "previous": "old"}') == SignatureSecrets("new", "old")
    assert parse_signature_secret('{"current": "new"}') == SignatureSecrets("new")


def test_the_previous_secret_is_accepted_until_its_end_and_not_at_it() -> None:
    until = datetime(2026, 1, 1, 12, tzinfo=UTC)
    secrets = SignatureSecrets("new", "old", until)
    assert secrets.accepted(datetime(2026, 1, 1, 11, 59, 59, tzinfo=UTC)) == ["new", "old"]
    assert secrets.accepted(until) == ["new"]
    assert SignatureSecrets("new", "old").accepted(until) == ["new", "old"]
    assert SignatureSecrets("new").accepted(until) == ["new"]


# -- the token ------------------------------------------------------------------------------------


def test_our_tokens_are_jwts_that_pyjwt_reads_and_pyjwt_tokens_pass() -> None:
    header = sign_webhook(BODY, secret=SECRET, api_key="abcd1234", issued_at=NOW)
    raw = header.removeprefix("Bearer ")
    assert "=" not in raw and raw.count(".") == 2
    assert json.loads(base64.urlsafe_b64decode(raw.split(".")[0] + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert b" " not in base64.urlsafe_b64decode(raw.split(".")[1] + "==")  # compact JSON
    decoded = jwt.decode(raw, SECRET, algorithms=["HS256"], options={"verify_iat": False})
    assert decoded["payload_hash"] == payload_hash(BODY) and decoded["iat"] == NOW
    assert verify_webhook(token(claims()), BODY, secret=SECRET, now=NOW)["jti"] == "j"


def test_a_token_signed_without_a_time_carries_the_current_one() -> None:
    before = int(time.time())
    raw = sign_webhook(BODY, secret=SECRET, api_key="k").removeprefix("Bearer ")
    iat = jwt.decode(raw, SECRET, algorithms=["HS256"])["iat"]
    assert before <= iat <= int(time.time())


def test_a_missing_bearer_token_or_secret_is_named() -> None:
    assert refusal(None) == "missing bearer token"
    assert refusal(token(claims()), secret=[]) == "no signature secret to verify with"


def test_any_secret_of_a_rotation_verifies_and_no_other() -> None:
    assert verify_webhook(token(claims(), secret=OTHER_SECRET), BODY, secret=[SECRET, OTHER_SECRET], now=NOW)
    assert refusal(token(claims(), secret=OTHER_SECRET)) == "invalid token: signature verification failed"


@pytest.mark.parametrize("header", [{"alg": "none", "typ": "JWT"}, {"alg": "HS512"}, ["HS256"]])
def test_only_hs256_is_considered(header) -> None:
    assert refusal(token(claims(), header=header)) == "invalid token: the algorithm is not HS256"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer a.b",
        "Bearer a.b.c.d",
        "Bearer !!!.e30.e30",
        "Bearer e30=.e30.e30",  # padding is not base64url in a JWT
        "Bearer bm90IGpzb24.e30.e30",  # "not json"
    ],
)
def test_a_malformed_token_is_refused_as_malformed(authorization) -> None:
    assert refusal(authorization) == "invalid token: malformed"


def test_a_signed_token_whose_claims_are_not_an_object_is_refused() -> None:
    assert refusal(token(["iat", NOW])) == "invalid token: the claims are not an object"


@pytest.mark.parametrize("claim", ["iat", "payload_hash"])
def test_iat_and_payload_hash_are_required(claim) -> None:
    assert refusal(token(claims(**{claim: None}))) == f"invalid token: the {claim} claim is missing"


def test_exp_is_enforced_to_the_second_and_must_be_a_number() -> None:
    assert verify_webhook(token(claims(exp=NOW + 1)), BODY, secret=SECRET, now=NOW)
    assert refusal(token(claims(exp=NOW))) == "invalid token: expired"
    assert refusal(token(claims(exp=str(NOW + 100)))) == "invalid token: expired"
    assert refusal(token(claims(exp=True))) == "invalid token: expired"


def test_nbf_is_enforced_to_the_second_and_must_be_a_number() -> None:
    assert verify_webhook(token(claims(nbf=NOW)), BODY, secret=SECRET, now=NOW)
    assert refusal(token(claims(nbf=NOW + 1))) == "invalid token: not yet valid"
    assert refusal(token(claims(nbf=str(NOW - 100)))) == "invalid token: not yet valid"


def test_a_token_meant_for_an_audience_is_refused() -> None:
    assert refusal(token(claims(aud="someone-else"))) == "invalid token: unexpected audience"


def test_the_token_must_sign_this_very_body() -> None:
    assert refusal(token(claims(payload_hash=payload_hash(b"{}")))) == "payload_hash does not match the body"


def test_age_limits_are_inclusive_at_both_ends() -> None:
    assert verify_webhook(token(claims(iat=NOW - 300)), BODY, secret=SECRET, now=NOW, max_age_seconds=300)
    assert refusal(token(claims(iat=NOW - 301)), max_age_seconds=300) == "token is stale"
    assert verify_webhook(token(claims(iat=NOW + CLOCK_SKEW_SECONDS)), BODY, secret=SECRET, now=NOW)
    assert refusal(token(claims(iat=NOW + CLOCK_SKEW_SECONDS + 1))) == "token is stale"


@pytest.mark.parametrize(
    ("iat", "reason"),
    [
        (True, "iat is not a number"),
        ("1735787045", "iat is not a number"),
        (10**400, "iat is out of range"),
        (float("nan"), "iat is not a finite number"),
        (float("inf"), "iat is not a finite number"),
    ],
)
def test_iat_must_be_a_finite_number(iat, reason) -> None:
    with pytest.raises(InvalidSignature) as raised:
        issued_at({"iat": iat})
    assert str(raised.value) == reason


def test_iat_is_read_as_seconds() -> None:
    assert issued_at({"iat": NOW}) == float(NOW)
    assert issued_at({"iat": 1.5}) == 1.5
