"""API accounts: salted secret hashes and Basic credentials (dispatch.accounts)."""

from __future__ import annotations

import base64
import re

import pytest
from fakes import InMemoryAccountRepository

from dispatch.accounts import authenticate, create_account, hash_secret, parse_basic, verify_secret

API_KEY, API_SECRET, ACCOUNT_ID = "abcd1234", "s3cr3t-Secret", "account-1"
FAST = 1_000  # iterations for tests that do not care about the default cost


def basic(user_pass: str | bytes) -> str:
    raw = user_pass.encode() if isinstance(user_pass, str) else user_pass
    return "Basic " + base64.b64encode(raw).decode()


# -- hash_secret / verify_secret ---------------------------------------------------------------


def test_a_hash_names_its_scheme_iterations_salt_and_digest_and_never_holds_the_secret() -> None:
    stored = hash_secret(API_SECRET)
    assert re.fullmatch(r"pbkdf2_sha256\$100000\$[0-9a-f]{32}\$[0-9a-f]{64}", stored)
    assert API_SECRET not in stored


def test_the_secret_verifies_against_its_hash() -> None:
    assert verify_secret(API_SECRET, hash_secret(API_SECRET, iterations=FAST)) is True


def test_hashing_the_same_secret_twice_gives_different_salted_hashes() -> None:
    first, second = hash_secret(API_SECRET, iterations=FAST), hash_secret(API_SECRET, iterations=FAST)
    assert first != second
    assert first.split("$")[2] != second.split("$")[2]  # different salts
    assert verify_secret(API_SECRET, first) and verify_secret(API_SECRET, second)


def test_a_given_salt_gives_a_repeatable_hash() -> None:
    salt = bytes(range(16))
    assert hash_secret(API_SECRET, salt=salt, iterations=FAST) == hash_secret(
        API_SECRET, salt=salt, iterations=FAST
    )


@pytest.mark.parametrize("wrong", ["", "s3cr3t-secret", API_SECRET + " ", API_SECRET[:-1]])
def test_a_wrong_secret_does_not_verify(wrong: str) -> None:
    assert verify_secret(wrong, hash_secret(API_SECRET, iterations=FAST)) is False


def test_the_iteration_count_is_part_of_what_is_verified() -> None:
    stored = hash_secret(API_SECRET, iterations=FAST)
    assert verify_secret(API_SECRET, stored.replace(f"${FAST}$", f"${FAST + 1}$")) is False


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not-a-hash",
        API_SECRET,
        "pbkdf2_sha256$1000$00",  # too few parts
        "pbkdf2_sha256$1000$00$00$00",  # too many parts
        "md5$1000$00$00",  # unknown scheme
    ],
)
def test_a_malformed_stored_hash_does_not_verify(stored: str) -> None:
    assert verify_secret(API_SECRET, stored) is False


@pytest.mark.parametrize(
    "stored",
    [
        "pbkdf2_sha256$many$00$00",  # iterations not a number
        "pbkdf2_sha256$1000$zz$00",  # salt not hex
        "pbkdf2_sha256$0$00$00",  # iterations must be positive
        "pbkdf2_sha256$1000$00$é",  # digest not ASCII
    ],
)
def test_a_stored_hash_with_well_shaped_but_invalid_parts_does_not_verify(stored: str) -> None:
    assert verify_secret(API_SECRET, stored) is False


# -- parse_basic -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "credentials"),
    [
        (basic("abcd1234:s3cr3t"), ("abcd1234", "s3cr3t")),
        (basic("abcd1234:se:cr:et"), ("abcd1234", "se:cr:et")),  # only the first colon separates
        (basic("abcd1234:s3cr3t") + "  ", ("abcd1234", "s3cr3t")),
        (basic("ключ:секрет"), ("ключ", "секрет")),  # UTF-8 credentials decode
    ],
)
def test_basic_credentials_are_split_into_api_key_and_secret(authorization: str, credentials) -> None:
    assert parse_basic(authorization) == credentials


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic",
        "Basic ",
        basic("no-colon-here"),
        basic(":s3cr3t"),  # empty api_key
        basic("abcd1234:"),  # empty secret
        basic(":"),
        "Basic not base64!",
        "Basic YWJjZ",  # truncated
        basic(b"abcd1234:\xff\xfe"),  # not UTF-8
        "Bearer " + base64.b64encode(b"abcd1234:s3cr3t").decode(),
        base64.b64encode(b"abcd1234:s3cr3t").decode(),  # no scheme
    ],
)
def test_anything_but_well_formed_basic_credentials_parses_to_none(authorization) -> None:
    assert parse_basic(authorization) is None


@pytest.mark.parametrize("authorization", ["Basic é", "Basic YWJjZDEyMzQ6c2VjcmV0€"])
def test_a_non_ascii_basic_header_parses_to_none(authorization: str) -> None:
    assert parse_basic(authorization) is None


# -- create_account / authenticate --------------------------------------------------------------


@pytest.fixture(scope="module")
def accounts() -> InMemoryAccountRepository:
    accounts = InMemoryAccountRepository()
    create_account(
        accounts,
        api_key=API_KEY,
        api_secret=API_SECRET,
        account_id=ACCOUNT_ID,
        now="2025-01-02T03:04:05.000Z",
    )
    return accounts


def test_a_new_account_stores_a_hash_of_the_secret_not_the_secret(accounts) -> None:
    stored = accounts.get(API_KEY)
    assert stored["account_id"] == ACCOUNT_ID
    assert stored["created_at"] == "2025-01-02T03:04:05.000Z"
    assert API_SECRET not in stored["secret_hash"]
    assert verify_secret(API_SECRET, stored["secret_hash"])


def test_the_right_credentials_authenticate_as_their_account(accounts) -> None:
    assert authenticate(basic(f"{API_KEY}:{API_SECRET}"), accounts) == ACCOUNT_ID


@pytest.mark.parametrize(
    "authorization",
    [
        basic(f"{API_KEY}:wrong-secret"),
        basic(f"unknown-key:{API_SECRET}"),
        basic(f"{API_KEY.upper()}:{API_SECRET}"),
        basic(API_KEY),
        None,
        f"Bearer {API_SECRET}",
    ],
)
def test_wrong_unknown_or_malformed_credentials_do_not_authenticate(accounts, authorization) -> None:
    assert authenticate(authorization, accounts) is None


def test_an_account_whose_secret_contains_a_colon_authenticates() -> None:
    accounts = InMemoryAccountRepository()
    create_account(accounts, api_key="k", api_secret="a:b:c", account_id="acc-2", now="2025-01-01T00:00:00Z")
    assert authenticate(basic("k:a:b:c"), accounts) == "acc-2"
    assert authenticate(basic("k:a:b"), accounts) is None
