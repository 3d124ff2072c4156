"""Manage API accounts and their applications in a deployed (or local) stack's table.

    python -m admin.accounts create [--name NAME] [--api-key KEY] [--callback-url URL]
    python -m admin.accounts list
    python -m admin.accounts rotate-secret ACCOUNT_ID
    python -m admin.accounts rotate-signature-secret ACCOUNT_ID [--stage | --activate]
    python -m admin.accounts set-callback ACCOUNT_ID (URL | --clear)
    python -m admin.accounts register-application ACCOUNT_ID --public-key-file PEM [--name NAME]
    python -m admin.accounts list-applications ACCOUNT_ID

Every command takes `--table NAME` or `--stack STACK_NAME` (the table is then read from the
stack's WorkflowsTableName output), and `--endpoint-url` (e.g. the local stack's moto URL),
`--region`, `--json`. Against the local stack (an endpoint on 127.0.0.1 or localhost) the
endpoint is all it needs: the local stack's region and any credentials are used unless
configured. Elsewhere the region and credentials come from the usual AWS settings (environment,
profile, instance role). Output is `key=value` lines, one line per item for lists (values are
shell-quoted when needed); secrets are printed once, when created or rotated, and never listed.
Exit status: 0 done, 1 not found, already exists or AWS refused or unreachable, 2 usage, invalid
input or no AWS region/credentials.

Callback URLs must be https to a public host; loopback (http too) is allowed only against the
local stack: with `--endpoint-url` on this machine, or ALLOW_HTTP_LOOPBACK_CALLBACKS=true.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from dispatch.domain.accounts import (
    AccountExists,
    AccountNotFound,
    InvalidCallbackUrl,
    InvalidIdentifier,
    create_account,
    validate_callback_url,
)
from dispatch.domain.applications import InvalidPublicKey
from dispatch.storage.account_repository import AccountRepository, NoStagedSecret
from dispatch.storage.table import DynamoDBTable
from local_stack import LOCAL_REGION

OK, FAILED, USAGE = 0, 1, 2
TABLE_OUTPUT = "WorkflowsTableName"
ACCOUNT_FIELDS = ("account_id", "api_key", "name", "created_at")
APPLICATION_FIELDS = ("application_id", "account_id", "name", "created_at")
EPILOG = (
    "Exit status: 0 done, 1 not found, already exists or AWS refused or unreachable, "
    "2 usage, invalid input or no AWS region/credentials."
)


class CommandError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group(required=True)
    where.add_argument("--table", help="the stack's WorkflowsTableName output")
    where.add_argument("--stack", help="a stack name: its WorkflowsTableName output is used")
    common.add_argument("--endpoint-url", default=None, help="e.g. the local stack's moto URL")
    common.add_argument("--region", default=None)
    common.add_argument("--json", action="store_true", help="print JSON instead of key=value lines")

    parser = argparse.ArgumentParser(
        prog="python -m admin.accounts", description=__doc__.split("\n")[0], epilog=EPILOG
    )
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser(
        "create", parents=[common], help="create an account; prints its secrets once"
    )
    create.add_argument("--name", default=None)
    create.add_argument("--api-key", default=None, help="default: a random 16-character key")
    create.add_argument("--account-id", default=None, help="default: a random uuid")
    create.add_argument("--callback-url", default=None, help="the account's default callback URL")

    commands.add_parser("list", parents=[common], help="list accounts (never their secrets)")

    commands.add_parser(
        "rotate-secret", parents=[common], help="replace the API secret; prints the new one once"
    ).add_argument("account_id")
    rotate_signature = commands.add_parser(
        "rotate-signature-secret",
        parents=[common],
        help="replace the callback signature secret; prints it once (--stage, then --activate, "
        "for a rotation the customer can overlap)",
    )
    rotate_signature.add_argument("account_id")
    phase = rotate_signature.add_mutually_exclusive_group()
    phase.add_argument(
        "--stage",
        action="store_true",
        help="generate the next secret and print it; callbacks keep the current one",
    )
    phase.add_argument(
        "--activate", action="store_true", help="sign callbacks with the staged secret from now on"
    )

    callback = commands.add_parser(
        "set-callback", parents=[common], help="set or clear the default callback URL"
    )
    callback.add_argument("account_id")
    url = callback.add_mutually_exclusive_group(required=True)
    url.add_argument("url", nargs="?", help="https, or http only to 127.0.0.1/localhost")
    url.add_argument("--clear", action="store_true", help="remove the callback URL")

    register = commands.add_parser(
        "register-application", parents=[common], help="register an RSA public key for Bearer JWTs"
    )
    register.add_argument("account_id")
    register.add_argument("--public-key-file", required=True, type=Path, help="PEM, RSA, >= 2048 bits")
    register.add_argument("--name", default=None)

    commands.add_parser(
        "list-applications", parents=[common], help="list an account's applications"
    ).add_argument("account_id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # exits with status 2 on usage errors
    try:
        accounts = AccountRepository(_table(args))
        records, note = COMMANDS[args.command](accounts, args)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.status
    except EndpointConnectionError as error:
        hint = " (is the local stack running? make run)" if _is_loopback(args.endpoint_url) else ""
        print(f"error: {error}{hint}", file=sys.stderr)
        return FAILED
    except (BotoCoreError, ClientError) as error:  # one line, never a traceback
        print(f"error: {error}", file=sys.stderr)
        return FAILED
    _print(records, as_json=args.json, as_list=args.command.startswith("list"))
    if note:
        print(note, file=sys.stderr)
    return OK


# -- commands: each returns (records to print, a note for stderr) -----------------------------------

Result = tuple[list[dict[str, Any]], str | None]
ONCE = "(secrets are shown only now: store them safely)"


def _create(accounts: AccountRepository, args: argparse.Namespace) -> Result:
    if args.callback_url:
        _valid_callback_url(args.callback_url, args)
    try:
        account = create_account(
            accounts,
            api_key=args.api_key,
            account_id=args.account_id,
            name=args.name,
            callback_url=args.callback_url,
            allow_loopback_callback=_local(args),
        )
    except AccountExists as error:
        raise CommandError(str(error), FAILED) from None
    except InvalidIdentifier as error:
        raise CommandError(str(error), USAGE) from None
    return [
        {
            "account_id": account.account_id,
            "api_key": account.api_key,
            "api_secret": account.api_secret,
            "signature_secret": account.signature_secret,
        }
    ], ONCE


def _list(accounts: AccountRepository, args: argparse.Namespace) -> Result:
    return [_only(account, ACCOUNT_FIELDS) for account in accounts.list_accounts()], None


def _rotate_secret(accounts: AccountRepository, args: argparse.Namespace) -> Result:
    with _account(args.account_id):
        api_secret = accounts.rotate_api_secret(args.account_id)
    # The authorizer caches a result per Authorization header for 5 minutes.
    note = f"{ONCE}\n(the old secret may keep working for up to 5 minutes where it was just used)"
    return [{"account_id": args.account_id, "api_secret": api_secret}], note


def _rotate_signature_secret(accounts: AccountRepository, args: argparse.Namespace) -> Result:
    try:
        with _account(args.account_id):
            if args.stage:
                secret = accounts.stage_signature_secret(args.account_id)
                note = (
                    f"{ONCE}\n(staged: callbacks are still signed with the current secret; once the"
                    " customer verifies with both, run rotate-signature-secret --activate)"
                )
                return [{"account_id": args.account_id, "next_signature_secret": secret}], note
            if args.activate:
                accounts.activate_signature_secret(args.account_id)
                note = "(callbacks are signed with the staged secret from now on)"
                return [{"account_id": args.account_id, "activated": "true"}], note
            secret = accounts.rotate_signature_secret(args.account_id)
    except NoStagedSecret:
        raise CommandError(
            f"account {args.account_id!r} has no staged secret: run --stage first", FAILED
        ) from None
    return [{"account_id": args.account_id, "signature_secret": secret}], ONCE


def _set_callback(accounts: AccountRepository, args: argparse.Namespace) -> Result:
    url = None if args.clear else _valid_callback_url(args.url, args)
    with _account(args.account_id):
        accounts.set_callback_url(args.account_id, url, allow_loopback=_local(args))
    return [{"account_id": args.account_id, "callback_url": url or ""}], None


def _register_application(accounts: AccountRepository, args: argparse.Namespace) -> Result:
    try:
        pem = args.public_key_file.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {args.public_key_file}: {error}", USAGE) from None
    try:
        with _account(args.account_id):
            application_id = accounts.register_application(args.account_id, pem, args.name)
    except InvalidPublicKey as error:
        raise CommandError(f"{args.public_key_file}: {error}", USAGE) from None
    return [{"application_id": application_id, "account_id": args.account_id}], None


def _list_applications(accounts: AccountRepository, args: argparse.Namespace) -> Result:
    with _account(args.account_id):
        if accounts.get_account(args.account_id) is None:
            raise AccountNotFound(args.account_id)
        applications = accounts.list_applications(args.account_id)
    return [_only(application, APPLICATION_FIELDS) for application in applications], None


COMMANDS = {
    "create": _create,
    "list": _list,
    "rotate-secret": _rotate_secret,
    "rotate-signature-secret": _rotate_signature_secret,
    "set-callback": _set_callback,
    "register-application": _register_application,
    "list-applications": _list_applications,
}


# -- helpers ----------------------------------------------------------------------------------------


@contextmanager
def _account(account_id: str) -> Iterator[None]:
    """Turns AccountNotFound into exit status 1."""
    try:
        yield
    except AccountNotFound:
        raise CommandError(f"no account {account_id!r}", FAILED) from None


def _local(args: argparse.Namespace) -> bool:
    """Whether this is the local stack, whose functions deliver callbacks to loopback too."""
    if os.environ.get("ALLOW_HTTP_LOOPBACK_CALLBACKS") == "true":
        return True
    return _is_loopback(args.endpoint_url)


def _valid_callback_url(url: str, args: argparse.Namespace) -> str:
    try:
        return validate_callback_url(url, allow_loopback=_local(args))
    except InvalidCallbackUrl as error:
        raise CommandError(f"callback URL {error}", USAGE) from None


def _only(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: item.get(name, "") for name in fields}


def _table(args: argparse.Namespace) -> Any:
    session = _session(args.region, args.endpoint_url)
    table_name = args.table or _table_of_stack(session, args.stack, args.endpoint_url)
    return DynamoDBTable(session.client("dynamodb", endpoint_url=args.endpoint_url), table_name)


def _session(region: str | None, endpoint_url: str | None) -> boto3.Session:
    """A session with a region and credentials, or a one-line CommandError that says what is
    missing. The local stack needs neither: moto takes any credentials, and its region is known."""
    local = _is_loopback(endpoint_url)
    try:
        configured = botocore.session.Session()
        if local:  # don't ask an instance or container metadata service for keys moto ignores
            resolver = configured.get_component("credential_provider")
            for provider in ("container-role", "iam-role"):
                resolver.remove(provider)
        session = boto3.Session(botocore_session=configured, region_name=region)
        region = session.region_name
        has_credentials = session.get_credentials() is not None
    except BotoCoreError as error:  # e.g. an AWS_PROFILE that does not exist
        raise CommandError(str(error), USAGE) from None
    if not region and not local:
        raise CommandError(
            "no AWS region: pass --region, or set AWS_DEFAULT_REGION or a profile's region", USAGE
        )
    if not has_credentials and not local:
        raise CommandError(
            "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
            "or run `aws configure`",
            USAGE,
        )
    if local and not has_credentials:
        return boto3.Session(
            region_name=region or LOCAL_REGION, aws_access_key_id="local", aws_secret_access_key="local"
        )
    if local and not region:
        return boto3.Session(botocore_session=configured, region_name=LOCAL_REGION)
    return session


def _is_loopback(endpoint_url: str | None) -> bool:
    host = urlsplit(endpoint_url).hostname if endpoint_url else None
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _table_of_stack(session: boto3.Session, stack_name: str, endpoint_url: str | None) -> str:
    cloudformation = session.client("cloudformation", endpoint_url=endpoint_url)
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise CommandError(f"stack {stack_name!r}: {error}", FAILED) from None
    for output in stacks[0].get("Outputs", []) if stacks else []:
        if output["OutputKey"] == TABLE_OUTPUT:
            return output["OutputValue"]
    raise CommandError(f"stack {stack_name!r} has no {TABLE_OUTPUT} output", FAILED)


def _print(records: list[dict[str, Any]], *, as_json: bool, as_list: bool) -> None:
    if as_json:
        print(json.dumps(records if as_list else records[0], indent=2))
        return
    if as_list:  # one line per item
        for record in records:
            print(" ".join(f"{name}={shlex.quote(str(value))}" for name, value in record.items()))
        return
    for name, value in records[0].items():
        print(f"{name}={shlex.quote(str(value))}")


if __name__ == "__main__":
    sys.exit(main())
