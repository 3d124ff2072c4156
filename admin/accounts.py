"""Create API accounts in a deployed (or local) stack's table.

    python -m admin.accounts create --table <WorkflowsTableName> [--api-key KEY] [--account-id ID]

The secret is generated, stored only as a hash, and printed once. Uses your usual AWS
credentials; against the local stack add `--endpoint-url http://127.0.0.1:5000`.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import uuid

import boto3

from dispatch.accounts import AccountRepository, create_account
from dispatch.clock import iso, utc_now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m admin.accounts", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create an account and print its credentials once")
    create.add_argument("--table", required=True, help="the stack's WorkflowsTableName output")
    create.add_argument("--api-key", default=None, help="default: a random 16-character key")
    create.add_argument("--account-id", default=None, help="default: a random uuid")
    create.add_argument("--endpoint-url", default=None, help="e.g. the local stack's moto URL")
    create.add_argument("--region", default=None)
    args = parser.parse_args(argv)

    table = boto3.resource("dynamodb", endpoint_url=args.endpoint_url, region_name=args.region).Table(
        args.table
    )
    api_key = args.api_key or secrets.token_hex(8)
    api_secret = secrets.token_urlsafe(24)
    account_id = args.account_id or str(uuid.uuid4())
    accounts = AccountRepository(table)
    if accounts.get(api_key) is not None:
        print(f"api_key {api_key!r} already exists", file=sys.stderr)
        return 1
    create_account(
        accounts, api_key=api_key, api_secret=api_secret, account_id=account_id, now=iso(utc_now())
    )
    print(
        f"account_id={account_id}\napi_key={api_key}\napi_secret={api_secret}\n(the secret is shown only now)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
