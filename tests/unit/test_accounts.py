"""API accounts (dispatch.domain.accounts): salted secret hashes, Basic credentials, and the account
repository against DynamoDB (moto, the table of template.yaml)."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dynamodb import items

from dispatch.domain.accounts import (
    AccountExists,
    AccountNotFound,
    Identity,
    InvalidCallbackUrl,
    InvalidIdentifier,
    NewAccount,
    authenticate,
    create_account,
    validate_callback_url,
)
from dispatch.domain.applications import InvalidPublicKey
from dispatch.domain.credentials import hash_secret, parse_basic, verify_secret
from dispatch.storage.account_repository import AccountRepository, NoStagedSecret

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
        # The scheme is case-insensitive (RFC 7235)
        (basic("abcd1234:s3cr3t").replace("Basic", "basic"), ("abcd1234", "s3cr3t")),
        (basic("abcd1234:s3cr3t").replace("Basic", "BASIC"), ("abcd1234", "s3cr3t")),
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


# -- the repository -----------------------------------------------------------------------------

NOW, LATER = "2025-01-02T03:04:05.000Z", "2025-02-03T04:05:06.000Z"
PUBLIC_KEY = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


@dataclass
class Backend:
    accounts: AccountRepository
    stored: Callable[[], list[dict[str, Any]]]  # every stored item, for "the secret is nowhere"


@pytest.fixture
def backend(table) -> Backend:
    return Backend(AccountRepository(table), lambda: items(table))


def new_account(accounts, **overrides) -> NewAccount:
    values = {"api_key": API_KEY, "api_secret": API_SECRET, "account_id": ACCOUNT_ID, "now": NOW}
    return create_account(accounts, **(values | overrides))


def test_an_account_is_stored_with_its_signature_secret_and_a_hash_of_its_api_secret(backend) -> None:
    created = new_account(backend.accounts, name="Shop", callback_url="https://shop.example/status")

    assert backend.accounts.get_account(ACCOUNT_ID) == {
        "account_id": ACCOUNT_ID,
        "api_key": API_KEY,
        "signature_secret": created.signature_secret,
        "name": "Shop",
        "callback_url": "https://shop.example/status",
        "created_at": NOW,
        "updated_at": NOW,
    }
    credentials = backend.accounts.get_credentials(API_KEY)
    assert credentials["account_id"] == ACCOUNT_ID
    assert verify_secret(API_SECRET, credentials["secret_hash"])
    assert API_SECRET not in str(backend.stored())


def test_what_is_not_given_is_generated(backend) -> None:
    created = create_account(backend.accounts)

    assert uuid.UUID(created.account_id)
    assert re.fullmatch(r"[0-9a-f]{16}", created.api_key)
    assert len(created.api_secret) >= 32 and len(created.signature_secret) >= 43
    assert backend.accounts.get_account(created.account_id)["signature_secret"] == created.signature_secret
    assert "callback_url" not in backend.accounts.get_account(created.account_id)
    assert authenticate(basic(f"{created.api_key}:{created.api_secret}"), backend.accounts) == Identity(
        account_id=created.account_id, auth_method="basic"
    )


@pytest.mark.parametrize(
    "chosen",
    [{"account_id": "a#APPLICATIONS"}, {"account_id": ""}, {"api_key": "has:colon"}, {"api_key": "x" * 65}],
)
def test_chosen_ids_and_keys_must_be_plain_identifiers(backend, chosen) -> None:
    with pytest.raises(InvalidIdentifier):
        create_account(backend.accounts, **chosen)
    assert backend.stored() == []


def test_unknown_accounts_and_keys_read_as_none(backend) -> None:
    assert backend.accounts.get_account("nobody") is None
    assert backend.accounts.get_credentials("nothing") is None
    assert backend.accounts.get_application(str(uuid.uuid4())) is None


def test_the_right_credentials_authenticate_as_their_account(backend) -> None:
    new_account(backend.accounts)
    identity = authenticate(basic(f"{API_KEY}:{API_SECRET}"), backend.accounts)
    assert identity == Identity(account_id=ACCOUNT_ID, auth_method="basic")
    assert identity.context() == {"account_id": ACCOUNT_ID, "auth_method": "basic"}


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
    new_account(accounts)
    assert authenticate(authorization, accounts) is None


def test_an_account_whose_secret_contains_a_colon_authenticates(accounts) -> None:
    create_account(accounts, api_key="k", api_secret="a:b:c", account_id="acc-2", now=NOW)
    assert authenticate(basic("k:a:b:c"), accounts).account_id == "acc-2"
    assert authenticate(basic("k:a:b"), accounts) is None


def test_creating_never_overwrites_an_account_or_an_api_key(backend) -> None:
    new_account(backend.accounts)

    with pytest.raises(AccountExists, match="account_id"):
        new_account(backend.accounts, api_key="another-key", api_secret="another-secret")
    with pytest.raises(AccountExists, match="api_key"):
        new_account(backend.accounts, account_id="another-account", api_secret="another-secret")

    # Nothing half-made, and the first account is untouched.
    assert backend.accounts.get_credentials("another-key") is None
    assert backend.accounts.get_account("another-account") is None
    assert authenticate(basic(f"{API_KEY}:{API_SECRET}"), backend.accounts).account_id == ACCOUNT_ID


def test_accounts_are_listed_without_their_secrets(backend) -> None:
    created = [new_account(backend.accounts, account_id=f"acc-{i}", api_key=f"key-{i}") for i in (2, 0, 1)]
    new_account(backend.accounts, account_id="acc-3", api_key="key-3", name="Named")

    listed = backend.accounts.list_accounts()

    assert [account["account_id"] for account in listed] == ["acc-0", "acc-1", "acc-2", "acc-3"]
    assert listed[0] == {"account_id": "acc-0", "api_key": "key-0", "created_at": NOW, "updated_at": NOW}
    assert listed[3]["name"] == "Named"
    secrets = {account.signature_secret for account in created} | {API_SECRET}
    assert not any(secret in str(listed) for secret in secrets)
    assert "secret" not in str(listed)


def test_listing_follows_every_page_of_the_index(table) -> None:
    paged = _OneItemPages(table)
    accounts = AccountRepository(paged)
    for i in range(5):
        new_account(accounts, account_id=f"acc-{i}", api_key=f"key-{i}")
        accounts.register_application(f"acc-{i % 2}", PUBLIC_KEY)

    assert [a["account_id"] for a in accounts.list_accounts()] == [f"acc-{i}" for i in range(5)]
    assert len(accounts.list_applications("acc-0")) == 3
    assert paged.queries > 5  # one item per page


class _OneItemPages:
    """The table, with every Query limited to one item: pagination without 1 MB of data."""

    def __init__(self, table: Any) -> None:
        self._table, self.queries = table, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries += 1
        return self._table.query(Limit=1, **kwargs)


def test_rotating_the_api_secret_refuses_the_old_one(backend) -> None:
    new_account(backend.accounts)

    rotated = backend.accounts.rotate_api_secret(ACCOUNT_ID, now=LATER)

    assert rotated != API_SECRET
    assert authenticate(basic(f"{API_KEY}:{API_SECRET}"), backend.accounts) is None
    assert authenticate(basic(f"{API_KEY}:{rotated}"), backend.accounts).account_id == ACCOUNT_ID
    assert backend.accounts.get_account(ACCOUNT_ID)["updated_at"] == LATER
    assert rotated not in str(backend.stored())


def test_a_staged_signature_secret_signs_callbacks_only_once_activated(backend) -> None:
    created = new_account(backend.accounts)

    staged = backend.accounts.stage_signature_secret(ACCOUNT_ID, now=LATER)

    # Staged: shown to the customer, who verifies with both; callbacks keep the current secret.
    account = backend.accounts.get_account(ACCOUNT_ID)
    assert staged != created.signature_secret
    assert (account["signature_secret"], account["next_signature_secret"]) == (
        created.signature_secret,
        staged,
    )

    backend.accounts.activate_signature_secret(ACCOUNT_ID, now=LATER)

    account = backend.accounts.get_account(ACCOUNT_ID)
    assert account["signature_secret"] == staged
    assert "next_signature_secret" not in account
    assert staged not in str(backend.accounts.list_accounts())


def test_activating_without_a_staged_secret_changes_nothing(backend) -> None:
    created = new_account(backend.accounts)

    with pytest.raises(NoStagedSecret):
        backend.accounts.activate_signature_secret(ACCOUNT_ID)
    with pytest.raises(AccountNotFound):
        backend.accounts.activate_signature_secret("nobody")

    assert backend.accounts.get_account(ACCOUNT_ID)["signature_secret"] == created.signature_secret


def test_rotating_the_signature_secret_returns_the_new_one(backend) -> None:
    created = new_account(backend.accounts)

    rotated = backend.accounts.rotate_signature_secret(ACCOUNT_ID, now=LATER)

    account = backend.accounts.get_account(ACCOUNT_ID)
    assert rotated != created.signature_secret
    assert (account["signature_secret"], account["updated_at"]) == (rotated, LATER)


def test_the_callback_url_is_set_and_cleared(backend) -> None:
    new_account(backend.accounts)

    backend.accounts.set_callback_url(ACCOUNT_ID, "https://shop.example/callbacks", now=LATER)
    assert backend.accounts.get_account(ACCOUNT_ID)["callback_url"] == "https://shop.example/callbacks"
    assert backend.accounts.get_account(ACCOUNT_ID)["updated_at"] == LATER

    backend.accounts.set_callback_url(ACCOUNT_ID, None)
    assert "callback_url" not in backend.accounts.get_account(ACCOUNT_ID)

    with pytest.raises(InvalidCallbackUrl):
        backend.accounts.set_callback_url(ACCOUNT_ID, "http://shop.example/callbacks")


def test_an_unknown_account_cannot_be_changed(backend) -> None:
    for change in (
        lambda: backend.accounts.rotate_api_secret("nobody"),
        lambda: backend.accounts.rotate_signature_secret("nobody"),
        lambda: backend.accounts.set_callback_url("nobody", "https://example.com/"),
        lambda: backend.accounts.set_callback_url("nobody", None),
        lambda: backend.accounts.register_application("nobody", PUBLIC_KEY),
    ):
        with pytest.raises(AccountNotFound):
            change()
    assert backend.stored() == []  # and nothing was created on the way


def test_applications_are_registered_per_account(backend) -> None:
    new_account(backend.accounts)
    new_account(backend.accounts, account_id="other", api_key="other-key")

    application_id = backend.accounts.register_application(ACCOUNT_ID, PUBLIC_KEY, "web", now=NOW)
    backend.accounts.register_application("other", PUBLIC_KEY)

    assert uuid.UUID(application_id).version == 4
    assert backend.accounts.get_application(application_id) == {
        "application_id": application_id,
        "account_id": ACCOUNT_ID,
        "public_key": PUBLIC_KEY,
        "name": "web",
        "created_at": NOW,
    }
    assert backend.accounts.list_applications(ACCOUNT_ID) == [
        {"application_id": application_id, "account_id": ACCOUNT_ID, "name": "web", "created_at": NOW}
    ]
    assert backend.accounts.list_applications("nobody") == []


def test_an_invalid_public_key_is_not_registered(backend) -> None:
    new_account(backend.accounts)
    with pytest.raises(InvalidPublicKey):
        backend.accounts.register_application(ACCOUNT_ID, "-----BEGIN PUBLIC KEY-----\nnope\n")
    assert backend.accounts.list_applications(ACCOUNT_ID) == []


@pytest.mark.parametrize("url", ["https://shop.example/callbacks", "https://shop.example:8443/a?b=c"])
def test_https_callback_urls_to_public_hosts_are_accepted(url) -> None:
    assert validate_callback_url(url) == url


LOOPBACK_URLS = ["http://127.0.0.1:8080/callbacks", "http://localhost/callbacks", "http://[::1]:9000/"]


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_loopback_callback_urls_only_where_the_local_stack_allows_them(url) -> None:
    assert validate_callback_url(url, allow_loopback=True) == url
    with pytest.raises(InvalidCallbackUrl):
        validate_callback_url(url)


INWARD_URLS = [
    "https://127.0.0.1/callbacks",
    "https://127.1/callbacks",  # inet_aton spellings of 127.0.0.1
    "https://2130706433/callbacks",
    "https://0x7f.0.0.1/callbacks",
    "https://localhost/callbacks",
    "https://api.localhost./callbacks",
    "https://[::1]/callbacks",
    "https://[::ffff:127.0.0.1]/callbacks",
    "https://169.254.169.254/latest/meta-data/",  # link-local: the instance metadata service
    "https://[fe80::1]/callbacks",
    "https://10.0.0.5/callbacks",
    "https://172.16.0.1/callbacks",
    "https://192.168.1.1/callbacks",
    "https://[fd00::1]/callbacks",
    "https://100.64.0.1/callbacks",  # carrier-grade NAT: not globally routable
    "https://0.0.0.0/callbacks",
    "https://224.0.0.1/callbacks",
    "https://[64:ff9b::a00:1]/callbacks",  # NAT64 of 10.0.0.1
]


@pytest.mark.parametrize("url", INWARD_URLS)
def test_callback_urls_aimed_inward_are_refused(url) -> None:
    with pytest.raises(InvalidCallbackUrl):
        validate_callback_url(url)


@pytest.mark.parametrize(
    "url",
    ["https://10.0.0.5/callbacks", "https://169.254.169.254/", "http://10.0.0.5/", "http://shop.example/"],
)
def test_the_local_stack_exception_is_loopback_only(url) -> None:
    with pytest.raises(InvalidCallbackUrl):
        validate_callback_url(url, allow_loopback=True)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://shop.example/callbacks",
        "http://127.0.0.2/callbacks",
        "ftp://shop.example/",
        "https:///no-host",
        "shop.example/callbacks",
        "https://shop.example/a b",
        "https://[::1/",
        "https://shop.example/" + "x" * 2000,
    ],
)
def test_other_callback_urls_are_refused(url) -> None:
    with pytest.raises(InvalidCallbackUrl):
        validate_callback_url(url)
