"""The DynamoDB store of accounts, their API credentials and applications.

Items (one table, key `pk`):
  ACCOUNT#<account_id>  account_id, api_key, signature_secret, next_signature_secret? (staged by
                        a rotation), callback_url?, name?, created_at, updated_at,
                        gsi1pk = "ACCOUNTS", gsi1sk = account_id
  APIKEY#<api_key>      account_id, secret_hash (PBKDF2: the API secret itself is never stored),
                        created_at
  APPLICATION#<id>      application_id, account_id, public_key (PEM), name?, created_at,
                        gsi1pk = "ACCOUNT#<account_id>#APPLICATIONS", gsi1sk = application_id

The signature secret is stored as is (the table is encrypted at rest) because callbacks to the
account are signed with it, so it must be readable; the GSI projection never includes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from dispatch.clock import iso, utc_now
from dispatch.domain.accounts import AccountError, AccountExists, AccountNotFound, validate_callback_url
from dispatch.domain.applications import (
    account_applications_key,
    application_key,
    new_application_id,
    normalized_public_key,
)
from dispatch.domain.credentials import hash_secret, new_api_secret, new_signature_secret
from dispatch.storage.table import DynamoDBTable
from dispatch.storage.workflow_repository import plain

ACCOUNTS_INDEX_KEY = "ACCOUNTS"


class NoStagedSecret(AccountError):
    """`activate_signature_secret` without a secret staged first."""


def _now() -> str:
    return iso(utc_now())


def account_key(account_id: str) -> dict[str, str]:
    return {"pk": f"ACCOUNT#{account_id}"}


def api_key_key(api_key: str) -> dict[str, str]:
    return {"pk": f"APIKEY#{api_key}"}


_INDEX_ATTRIBUTES = ("pk", "gsi1pk", "gsi1sk")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in plain(item).items() if name not in _INDEX_ATTRIBUTES}


def _cancellation_codes(error: ClientError) -> list[str]:
    """Per-item reasons of a cancelled transaction (empty when it failed for another reason)."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return []
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


class AccountRepository:
    """Accounts, their API credentials and applications (item layout: see the module docstring).
    Writes that touch two items are transactions, so an account never exists half-made."""

    def __init__(self, table: DynamoDBTable) -> None:
        self._table = table

    # -- reads -----------------------------------------------------------------------------------

    def get_credentials(self, api_key: str) -> dict[str, str] | None:
        """{account_id, secret_hash} of an api key, or None."""
        item = self._table.get_item(Key=api_key_key(api_key)).get("Item")
        if item is None:
            return None
        return {"account_id": item["account_id"], "secret_hash": item["secret_hash"]}

    def get_account(self, account_id: str) -> dict[str, Any] | None:
        """The whole account, signature_secret and callback_url included, or None."""
        item = self._table.get_item(Key=account_key(account_id), ConsistentRead=True).get("Item")
        return _public(item) if item else None

    def get_application(self, application_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=application_key(application_id)).get("Item")
        return _public(item) if item else None

    def list_accounts(self) -> list[dict[str, Any]]:
        """Every account (account_id, api_key, name, created_at, updated_at): the index
        projects no secrets."""
        return [_public(item) for item in self._query_index(ACCOUNTS_INDEX_KEY)]

    def list_applications(self, account_id: str) -> list[dict[str, Any]]:
        """The account's applications (application_id, account_id, name, created_at)."""
        return [_public(item) for item in self._query_index(account_applications_key(account_id))]

    def _query_index(self, partition: str) -> Iterator[dict[str, Any]]:
        query: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :partition",
            "ExpressionAttributeValues": {":partition": partition},
        }
        while True:
            response = self._table.query(**query)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # -- writes ----------------------------------------------------------------------------------

    def create(
        self,
        *,
        account_id: str,
        api_key: str,
        secret_hash: str,
        signature_secret: str,
        now: str,
        name: str | None = None,
        callback_url: str | None = None,
    ) -> None:
        """Store a new account and its credentials; raises AccountExists if the account id or
        the api key is taken."""
        account: dict[str, Any] = {
            **account_key(account_id),
            "account_id": account_id,
            "api_key": api_key,
            "signature_secret": signature_secret,
            "created_at": now,
            "updated_at": now,
            "gsi1pk": ACCOUNTS_INDEX_KEY,
            "gsi1sk": account_id,
        }
        if name:
            account["name"] = name
        if callback_url:
            account["callback_url"] = callback_url
        credentials = {
            **api_key_key(api_key),
            "account_id": account_id,
            "secret_hash": secret_hash,
            "created_at": now,
        }
        codes = self._transact([self._put_new(account), self._put_new(credentials)])
        if codes:
            taken = f"account_id {account_id!r}" if codes[0] != "None" else f"api_key {api_key!r}"
            raise AccountExists(f"{taken} already exists")

    def rotate_api_secret(self, account_id: str, *, now: str | None = None) -> str:
        """Replace the account's API secret; returns the new one (stored only as a hash).
        Raises AccountNotFound."""
        account = self.get_account(account_id)
        if account is None:
            raise AccountNotFound(account_id)
        api_secret = new_api_secret()
        now = now or _now()
        codes = self._transact(
            [
                {
                    "Update": {
                        "Key": api_key_key(account["api_key"]),
                        "UpdateExpression": "SET secret_hash = :hash",
                        # Only the key this account owns, never one re-created meanwhile.
                        "ConditionExpression": "account_id = :account_id",
                        "ExpressionAttributeValues": {
                            ":hash": hash_secret(api_secret),
                            ":account_id": account_id,
                        },
                    }
                },
                self._touch(account_id, now),
            ]
        )
        if codes:
            raise AccountNotFound(account_id)
        return api_secret

    def rotate_signature_secret(self, account_id: str, *, now: str | None = None) -> str:
        """Replace the secret that signs the account's callbacks; returns the new one.
        Raises AccountNotFound."""
        signature_secret = new_signature_secret()
        self._update_account(account_id, now, set_values={"signature_secret": signature_secret})
        return signature_secret

    def stage_signature_secret(self, account_id: str, *, now: str | None = None) -> str:
        """Generate the account's next callback signature secret, without using it yet (callbacks
        stay signed with the current one until `activate_signature_secret`), so the customer can
        verify with both before the switch. Returns it. Raises AccountNotFound."""
        next_secret = new_signature_secret()
        self._update_account(account_id, now, set_values={"next_signature_secret": next_secret})
        return next_secret

    def activate_signature_secret(self, account_id: str, *, now: str | None = None) -> None:
        """Sign the account's callbacks with the staged secret from now on. Raises
        AccountNotFound, or NoStagedSecret when none was staged."""
        try:
            self._table.update_item(
                Key=account_key(account_id),
                UpdateExpression="SET signature_secret = next_signature_secret, updated_at = :now "
                "REMOVE next_signature_secret",
                ConditionExpression="attribute_exists(next_signature_secret)",
                ExpressionAttributeValues={":now": now or _now()},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            if self.get_account(account_id) is None:
                raise AccountNotFound(account_id) from None
            raise NoStagedSecret(account_id) from None

    def set_callback_url(
        self, account_id: str, url: str | None, *, now: str | None = None, allow_loopback: bool = False
    ) -> None:
        """Set (or, with None, remove) the account's default callback URL. Raises
        InvalidCallbackUrl (loopback only with `allow_loopback`) or AccountNotFound."""
        if url is None:
            self._update_account(account_id, now, remove=("callback_url",))
        else:
            url = validate_callback_url(url, allow_loopback=allow_loopback)
            self._update_account(account_id, now, set_values={"callback_url": url})

    def register_application(
        self, account_id: str, public_key_pem: str, name: str | None = None, *, now: str | None = None
    ) -> str:
        """Register an RSA public key (at least 2048 bits) for the account; returns the new
        application_id. Raises InvalidPublicKey or AccountNotFound."""
        public_key = normalized_public_key(public_key_pem)
        application_id = new_application_id()
        item: dict[str, Any] = {
            **application_key(application_id),
            "application_id": application_id,
            "account_id": account_id,
            "public_key": public_key,
            "created_at": now or _now(),
            "gsi1pk": account_applications_key(account_id),
            "gsi1sk": application_id,
        }
        if name:
            item["name"] = name
        check_account = {
            "ConditionCheck": {
                "Key": account_key(account_id),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        codes = self._transact([check_account, self._put_new(item)])
        if codes and codes[0] != "None":
            raise AccountNotFound(account_id)
        if codes:  # a uuid4 collision: never overwrite, and never expected
            raise AccountError(f"application {application_id} already exists")
        return application_id

    # -- helpers ---------------------------------------------------------------------------------

    def _update_account(
        self,
        account_id: str,
        now: str | None,
        *,
        set_values: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
    ) -> None:
        values = {f":{name}": value for name, value in (set_values or {}).items()}
        assignments = ", ".join(["updated_at = :now", *(f"{name} = :{name}" for name in set_values or {})])
        expression = f"SET {assignments}" + (f" REMOVE {', '.join(remove)}" if remove else "")
        try:
            self._table.update_item(
                Key=account_key(account_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={**values, ":now": now or _now()},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise AccountNotFound(account_id) from None
            raise

    def _touch(self, account_id: str, now: str) -> dict[str, Any]:
        return {
            "Update": {
                "Key": account_key(account_id),
                "UpdateExpression": "SET updated_at = :now",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":now": now},
            }
        }

    @staticmethod
    def _put_new(item: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}

    def _transact(self, operations: list[dict[str, Any]]) -> list[str]:
        """Run the writes as one transaction; [] when done, else each item's cancellation code
        ("ConditionalCheckFailed" for the ones whose condition failed, "None" for the others)."""
        try:
            self._table.transact_write_items(operations)
        except ClientError as error:
            codes = _cancellation_codes(error)
            if "ConditionalCheckFailed" in codes:
                return codes
            raise
        return []
