"""Check that a deployed (or local) stack can work: run it after every deploy.

    python -m admin.doctor --stack STACK_NAME [--region REGION]
    python -m admin.doctor --stack workflows-api --endpoint-url http://127.0.0.1:5000 \\
        --api-url http://127.0.0.1:3000          # the local stack

Checks, each printed as `ok`, `FAIL` (with how to fix it) or `skip` (with why):
  1. the Messages API secret exists and is JSON {"api_key": "...", "api_secret": "..."};
  2. the webhook signature secret exists and is a non-empty string (or the rotation JSON
     {"current", "previous", "previous_until"});
  3. the Messages API accepts those credentials: a POST /v1/messages with an empty body, which
     the API refuses as invalid (422) once the credentials pass, so nothing is ever sent; a 401
     means they are wrong. Skipped when the API cannot be reached (offline), saying so;
  4. the status webhook answers: a POST without a signature must get the 401 problem (a 500
     means the function cannot read its signature secret);
  5. at least one API account exists (python -m admin.accounts create).

Exit status: 0 when nothing failed (skipped checks are listed), 1 when a check failed,
2 on usage errors (e.g. no such stack).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import requests
from botocore.exceptions import BotoCoreError, ClientError

from admin.accounts import CommandError
from admin.accounts import _session as aws_session
from dispatch.integrations.signatures import InvalidSecretValue, parse_signature_secret
from dispatch.storage.account_repository import AccountRepository
from dispatch.storage.table import DynamoDBTable

OK, FAILED, USAGE = 0, 1, 2
WEBHOOK_PATH = "/webhooks/message-status"
TIMEOUT = (5, 10)


@dataclass(frozen=True)
class Result:
    status: str  # "ok", "fail" or "skip"
    check: str
    detail: str = ""
    fix: str = ""


@dataclass(frozen=True)
class Stack:
    name: str
    parameters: dict[str, str]
    outputs: dict[str, str]


class StackNotFound(Exception):
    pass


class Doctor:
    """The checks, against one stack; AWS clients and HTTP are injected for the local stack."""

    def __init__(
        self, stack: Stack, *, session: boto3.Session, endpoint_url: str | None, api_url: str | None
    ):
        self.stack = stack
        self.secrets = session.client("secretsmanager", endpoint_url=endpoint_url)
        self.table = DynamoDBTable(
            session.client("dynamodb", endpoint_url=endpoint_url), stack.outputs.get("WorkflowsTableName", "")
        )
        self.api_url = (api_url or stack.outputs.get("ApiUrl", "")).rstrip("/")
        self.http = requests.Session()
        self.http.trust_env = endpoint_url is None  # a local stack is on loopback: no proxy
        self.messages_api_credentials: dict[str, str] | None = None

    def run(self) -> list[Result]:
        checks: list[Callable[[], Result]] = [
            self.messages_api_secret,
            self.signature_secret,
            self.messages_api_authenticates,
            self.status_webhook_answers,
            self.an_account_exists,
        ]
        return [check() for check in checks]

    # -- secrets ---------------------------------------------------------------------------------

    def _secret(self, parameter: str) -> tuple[str, str | None, Result | None]:
        name = self.stack.parameters.get(parameter, "")
        try:
            value = self.secrets.get_secret_value(SecretId=name).get("SecretString")
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ResourceNotFoundException":
                return name, None, None
            return name, None, Result("fail", f"secret {name}", f"cannot be read ({code})", _READ_FIX)
        return name, value, None

    def messages_api_secret(self) -> Result:
        check = "Messages API secret"
        name, value, failure = self._secret("MessagesApiSecretName")
        if failure:
            return failure
        fix_create = (
            f"aws secretsmanager create-secret --name {name} "
            '--secret-string \'{"api_key": "<VONAGE_API_KEY>", "api_secret": "<VONAGE_API_SECRET>"}\''
        )
        if value is None:
            return Result("fail", check, f"{name} does not exist: every send fails", fix_create)
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(key), str) and data[key] for key in ("api_key", "api_secret")
        ):
            return Result(
                "fail",
                check,
                f'{name} is not JSON with non-empty "api_key" and "api_secret" strings',
                fix_create.replace("create-secret", "put-secret-value --secret-id").replace("--name ", ""),
            )
        self.messages_api_credentials = {"api_key": data["api_key"], "api_secret": data["api_secret"]}
        return Result("ok", check, f"{name} holds api_key and api_secret")

    def signature_secret(self) -> Result:
        check = "webhook signature secret"
        name, value, failure = self._secret("WebhookSignatureSecretName")
        if failure:
            return failure
        fix = f"aws secretsmanager create-secret --name {name} --secret-string '<VONAGE_SIGNATURE_SECRET>'"
        if value is None:
            return Result("fail", check, f"{name} does not exist: every status webhook answers 500", fix)
        try:
            secrets = parse_signature_secret(value)
        except InvalidSecretValue as error:
            return Result(
                "fail",
                check,
                f"{name}: {error}",
                "store the Vonage signature secret as a plain string, or the rotation JSON "
                "(docs/operations.md, 'Rotating the webhook signature secret')",
            )
        if secrets.previous:
            until = secrets.previous_until.isoformat() if secrets.previous_until else "until removed"
            return Result("ok", check, f"{name}: rotating (the previous secret is accepted {until})")
        return Result("ok", check, f"{name} is set")

    # -- the Messages API ------------------------------------------------------------------------

    def messages_api_authenticates(self) -> Result:
        check = "Messages API credentials"
        base_url = self.stack.parameters.get("MessagesApiBaseUrl", "").rstrip("/")
        if self.messages_api_credentials is None:
            return Result("skip", check, "no usable Messages API secret (see above)")
        credentials = self.messages_api_credentials
        try:
            # An empty body is invalid: the API answers 422 after checking the credentials, and
            # sends nothing.
            response = self.http.post(
                f"{base_url}/v1/messages",
                json={},
                auth=(credentials["api_key"], credentials["api_secret"]),
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            return Result(
                "skip",
                check,
                f"{base_url} cannot be reached from here ({type(error).__name__}): offline? "
                "Run the doctor again where it can be reached",
            )
        if response.status_code in (401, 403):
            return Result(
                "fail",
                check,
                f"{base_url} refused the credentials (HTTP {response.status_code}): every send fails",
                "put the Vonage account's API key and secret in the Messages API secret",
            )
        if response.status_code in (400, 422):
            return Result(
                "ok", check, f"{base_url} accepted them (the empty test message was refused as invalid)"
            )
        return Result(
            "fail",
            check,
            f"{base_url}/v1/messages answered HTTP {response.status_code}, not the expected 422",
            "check the MessagesApiBaseUrl parameter (the functions POST to <base>/v1/messages)",
        )

    # -- the status webhook ----------------------------------------------------------------------

    def status_webhook_answers(self) -> Result:
        check = "status webhook"
        url = f"{self.api_url}{WEBHOOK_PATH}"
        try:
            response = self.http.post(
                url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=TIMEOUT
            )
        except requests.RequestException as error:
            return Result(
                "fail",
                check,
                f"{url} did not answer ({type(error).__name__})",
                "check the stack's ApiUrl output (or --api-url) and that the HTTP API is deployed",
            )
        problem = response.headers.get("Content-Type", "").startswith("application/problem+json")
        if response.status_code == 401 and problem:
            return Result("ok", check, f"{url} refuses an unsigned status (401), as it should")
        if response.status_code >= 500:
            return Result(
                "fail",
                check,
                f"{url} answered HTTP {response.status_code}: it cannot verify signatures",
                "check the webhook signature secret (above) and the StatusWebhookFunction's log group",
            )
        return Result(
            "fail",
            check,
            f"{url} answered HTTP {response.status_code}, not the 401 problem of an unsigned status",
            "check that --api-url / the ApiUrl output is this stack's API",
        )

    # -- accounts --------------------------------------------------------------------------------

    def an_account_exists(self) -> Result:
        check = "API accounts"
        fix = f"python -m admin.accounts create --stack {self.stack.name}"
        try:
            accounts = AccountRepository(self.table).list_accounts()
        except (ClientError, BotoCoreError) as error:
            return Result("fail", check, f"the table cannot be read ({type(error).__name__})", _READ_FIX)
        if not accounts:
            return Result("fail", check, "no account exists: every API call answers 401", fix)
        return Result("ok", check, f"{len(accounts)} account(s)")


_READ_FIX = "run the doctor with credentials allowed to read the stack's secrets and table"


def describe_stack(name: str, *, session: boto3.Session, endpoint_url: str | None) -> Stack:
    cloudformation = session.client("cloudformation", endpoint_url=endpoint_url)
    try:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        raise StackNotFound(f"stack {name!r}: {error.response['Error']['Message']}") from None
    template_defaults = _parameter_defaults(cloudformation, name)
    parameters = {
        **template_defaults,
        **{p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
    }
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return Stack(name=name, parameters=parameters, outputs=outputs)


def _parameter_defaults(cloudformation: Any, name: str) -> dict[str, str]:
    """The template's defaults: describe_stacks lists only the parameters given at deploy time
    on some implementations."""
    try:
        summary = cloudformation.get_template_summary(StackName=name)
    except (ClientError, BotoCoreError):
        return {}
    return {p["ParameterKey"]: p.get("DefaultValue", "") for p in summary.get("Parameters", [])}


def report(results: list[Result], out=None) -> int:
    out = out or sys.stdout
    labels = {"ok": "ok  ", "fail": "FAIL", "skip": "skip"}
    for result in results:
        print(f"{labels[result.status]}  {result.check}: {result.detail}", file=out)
        if result.fix:
            print(f"      fix: {result.fix}", file=out)
    failed = [r for r in results if r.status == "fail"]
    skipped = [r for r in results if r.status == "skip"]
    summary = "all checks passed" if not failed else f"{len(failed)} check(s) failed"
    if skipped:
        summary += f" ({len(skipped)} skipped)"
    print(summary, file=out)
    return FAILED if failed else OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m admin.doctor", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", required=True, help="the stack's name (samconfig.toml: workflows-api)")
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint, e.g. the local stack's moto URL")
    parser.add_argument(
        "--api-url", default=None, help="the API's base URL (default: the stack's ApiUrl output)"
    )
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    try:
        # As admin.accounts: against the local stack the endpoint is all it needs; elsewhere a
        # missing region or credentials is one line.
        session = aws_session(args.region, args.endpoint_url)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE
    try:
        stack = describe_stack(args.stack, session=session, endpoint_url=args.endpoint_url)
    except (StackNotFound, BotoCoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE
    doctor = Doctor(stack, session=session, endpoint_url=args.endpoint_url, api_url=args.api_url)
    return report(doctor.run())


if __name__ == "__main__":
    sys.exit(main())
