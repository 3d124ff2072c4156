"""The accounts CLI (python -m admin.accounts) against the local stack's moto, and what its
commands change for API callers."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from admin.accounts import main as accounts_cli
from dispatch.storage.account_repository import AccountRepository
from dispatch.storage.table import DynamoDBTable
from local_stack import LOCAL_REGION
from local_stack.demo import text_step
from tests.integration.helpers import recipient

ROOT = Path(__file__).resolve().parents[2]


def run_cli(stack, command: str, *args: str, status: int = 0, where: tuple[str, ...] = ()) -> str:
    """Run one CLI command against the stack's table; returns what it printed on stdout."""
    where = where or ("--table", stack.table_name)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        result = accounts_cli([command, *where, "--endpoint-url", stack.moto_url, *args])
    assert result == status, err.getvalue()
    return out.getvalue()


def records(output: str) -> list[dict[str, str]]:
    """Each output line's key=value pairs (values are shell-quoted)."""
    return [dict(pair.split("=", 1) for pair in shlex.split(line)) for line in output.splitlines()]


def record(output: str) -> dict[str, str]:
    return {key: value for line in records(output) for key, value in line.items()}


def workflow_body() -> dict:
    """A valid workflow whose sends the sandbox refuses at once (suffix 05): these tests are about
    who may call, and a workflow that ends at once leaves no status webhooks in flight behind it."""
    return {
        "template": "failover",
        "workflow": [
            text_step("messenger", recipient("05"), "Hi", {"expiry_time": 15, "condition_status": "read"}),
            text_step("sms", recipient("05"), "Hi by SMS"),
        ],
    }


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_public_key(key: rsa.RSAPrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def repository(stack) -> AccountRepository:
    return AccountRepository(DynamoDBTable(stack.session().client("dynamodb"), stack.table_name))


# -- the whole lifecycle -----------------------------------------------------------------------------


def test_an_operator_creates_an_account_rotates_its_secret_and_its_app_calls_with_a_jwt(stack, tmp_path):
    # Given an account created with the CLI
    created = record(run_cli(stack, "create", "--name", "Lifecycle"))
    assert set(created) == {"account_id", "api_key", "api_secret", "signature_secret"}

    # When its API secret is rotated (before the old one was ever used: the gateway caches an
    # authorizer result per Authorization header for 5 minutes, as API Gateway does)
    rotated = record(run_cli(stack, "rotate-secret", created["account_id"]))
    assert rotated["account_id"] == created["account_id"]

    # Then the old secret is refused with a problem body and the new one accepted
    url = f"{stack.api_url}/v0.1/dispatch"
    old = requests.post(url, json=workflow_body(), auth=(created["api_key"], created["api_secret"]))
    assert old.status_code == 401 and old.headers["Content-Type"] == "application/problem+json"
    new = requests.post(url, json=workflow_body(), auth=(created["api_key"], rotated["api_secret"]))
    assert new.status_code == 202

    # And an application registered with the CLI can call with a Bearer JWT signed by its key
    key = new_rsa_key()
    pem = write_public_key(key, tmp_path / "app.pem")
    application_id = record(
        run_cli(stack, "register-application", created["account_id"], "--public-key-file", str(pem))
    )["application_id"]
    now = int(time.time())
    claims = {"application_id": application_id, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    headers = {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm='RS256')}"}
    response = requests.post(url, json=workflow_body(), headers=headers)
    assert response.status_code == 202
    dispatch_uuid = response.json()["dispatch_uuid"]
    # ... and the workflow belongs to the account: its Basic credentials see it too
    by_basic = requests.get(
        f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}", auth=(created["api_key"], rotated["api_secret"])
    )
    assert by_basic.status_code == 200 and by_basic.json()["dispatch_uuid"] == dispatch_uuid


# -- create and list ---------------------------------------------------------------------------------


def test_create_prints_the_secrets_once_and_stores_no_api_secret(stack):
    created = record(
        run_cli(stack, "create", "--name", "Shop One", "--callback-url", "https://shop.example/callbacks")
    )

    account = repository(stack).get_account(created["account_id"])
    assert account["name"] == "Shop One"
    assert account["callback_url"] == "https://shop.example/callbacks"
    assert account["signature_secret"] == created["signature_secret"]
    items = stack.client("dynamodb").scan(TableName=stack.table_name)["Items"]
    assert created["api_secret"] not in json.dumps(items)


def test_list_shows_accounts_without_any_secret(stack):
    created = record(run_cli(stack, "create", "--name", "Listed Shop"))

    output = run_cli(stack, "list")

    listed = {account["account_id"]: account for account in records(output)}
    assert listed[created["account_id"]] == {
        "account_id": created["account_id"],
        "api_key": created["api_key"],
        "name": "Listed Shop",
        "created_at": listed[created["account_id"]]["created_at"],
    }
    assert listed["demo-account"]["api_key"] == stack.settings.api_key
    assert created["api_secret"] not in output and created["signature_secret"] not in output
    assert stack.settings.api_secret not in output


def test_json_output(stack):
    created = json.loads(run_cli(stack, "create", "--json"))
    assert set(created) == {"account_id", "api_key", "api_secret", "signature_secret"}
    listed = json.loads(run_cli(stack, "list", "--json"))
    assert created["account_id"] in {account["account_id"] for account in listed}


def test_against_the_local_stack_the_endpoint_is_all_it_needs(stack, tmp_path):
    if stack.settings.region != LOCAL_REGION:
        pytest.skip(f"the stack runs in {stack.settings.region} (AWS_DEFAULT_REGION), not {LOCAL_REGION}")
    # Given a shell without any AWS setting (no region, no credentials, no ~/.aws)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'dispatch'}", HOME=str(tmp_path))

    # When the command runs as documented, with only the endpoint
    result = subprocess.run(
        [sys.executable, "-m", "admin.accounts", "list", "--stack", "workflows-api"]
        + ["--endpoint-url", stack.moto_url],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Then it lists the local stack's accounts
    assert result.returncode == 0, result.stderr
    assert "account_id=demo-account" in result.stdout


def test_the_table_can_be_found_from_the_stack_outputs(stack):
    output = run_cli(stack, "list", where=("--stack", stack.settings.stack_name))
    assert "account_id=demo-account" in output
    run_cli(stack, "list", status=1, where=("--stack", "no-such-stack"))


def test_a_chosen_api_key_must_be_a_plain_identifier(stack):
    run_cli(stack, "create", "--api-key", "has:colon", status=2)


def test_an_api_key_that_exists_is_not_created_again(stack):
    run_cli(stack, "create", "--api-key", stack.settings.api_key, status=1)
    run_cli(stack, "create", "--account-id", "demo-account", status=1)
    # The demo account still works
    assert (
        requests.get(
            f"{stack.api_url}/v0.1/workflows/{'0' * 8}-0000-4000-8000-{'0' * 12}",
            auth=(stack.settings.api_key, stack.settings.api_secret),
        ).status_code
        == 404
    )


# -- changing accounts --------------------------------------------------------------------------------


def test_rotate_signature_secret_prints_what_callbacks_will_be_signed_with(stack):
    created = record(run_cli(stack, "create"))

    rotated = record(run_cli(stack, "rotate-signature-secret", created["account_id"]))

    assert rotated["signature_secret"] != created["signature_secret"]
    assert (
        repository(stack).get_account(created["account_id"])["signature_secret"]
        == rotated["signature_secret"]
    )


def test_a_staged_rotation_lets_the_customer_verify_with_both_secrets_before_the_switch(stack):
    created = record(run_cli(stack, "create"))
    account_id = created["account_id"]

    staged = record(run_cli(stack, "rotate-signature-secret", account_id, "--stage"))["next_signature_secret"]
    assert repository(stack).get_account(account_id)["signature_secret"] == created["signature_secret"]

    run_cli(stack, "rotate-signature-secret", account_id, "--activate")
    assert repository(stack).get_account(account_id)["signature_secret"] == staged
    run_cli(stack, "rotate-signature-secret", account_id, "--activate", status=1)  # nothing staged now


def test_set_callback_requires_https_except_to_this_machine(stack):
    account_id = record(run_cli(stack, "create"))["account_id"]

    run_cli(stack, "set-callback", account_id, "http://shop.example/callbacks", status=2)
    run_cli(stack, "set-callback", account_id, "http://127.0.0.1:8080/callbacks")
    assert repository(stack).get_account(account_id)["callback_url"] == "http://127.0.0.1:8080/callbacks"
    run_cli(stack, "set-callback", account_id, "https://shop.example/callbacks")
    assert repository(stack).get_account(account_id)["callback_url"] == "https://shop.example/callbacks"
    # Inward is refused, even against the local stack: only its loopback exception is allowed.
    run_cli(stack, "set-callback", account_id, "https://169.254.169.254/latest", status=2)
    run_cli(stack, "set-callback", account_id, "https://10.0.0.1/callbacks", status=2)

    run_cli(stack, "set-callback", account_id, "--clear")
    assert "callback_url" not in repository(stack).get_account(account_id)


def test_register_application_refuses_weak_or_unreadable_keys(stack, tmp_path):
    account_id = record(run_cli(stack, "create"))["account_id"]
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    for pem in (write_public_key(weak, tmp_path / "weak.pem"), tmp_path / "missing.pem"):
        run_cli(stack, "register-application", account_id, "--public-key-file", str(pem), status=2)
    assert records(run_cli(stack, "list-applications", account_id)) == []


def test_applications_are_listed_per_account(stack, tmp_path):
    account_id = record(run_cli(stack, "create"))["account_id"]
    pem = str(write_public_key(new_rsa_key(), tmp_path / "app.pem"))

    first = record(
        run_cli(stack, "register-application", account_id, "--public-key-file", pem, "--name", "web")
    )
    second = record(run_cli(stack, "register-application", account_id, "--public-key-file", pem))

    listed = records(run_cli(stack, "list-applications", account_id))
    assert sorted(app["application_id"] for app in listed) == sorted(
        [first["application_id"], second["application_id"]]
    )
    assert {app["name"] for app in listed} == {"web", ""}
    assert "PUBLIC KEY" not in str(listed)


@pytest.mark.parametrize(
    "command",
    [
        ["rotate-secret", "no-such-account"],
        ["rotate-signature-secret", "no-such-account"],
        ["set-callback", "no-such-account", "https://example.com/"],
        ["set-callback", "no-such-account", "--clear"],
        ["list-applications", "no-such-account"],
    ],
)
def test_an_unknown_account_exits_1(stack, command):
    run_cli(stack, command[0], *command[1:], status=1)


def test_an_unknown_account_cannot_register_an_application(stack, tmp_path):
    pem = str(write_public_key(new_rsa_key(), tmp_path / "app.pem"))
    run_cli(stack, "register-application", "no-such-account", "--public-key-file", pem, status=1)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["list"],  # neither --table nor --stack
        ["list", "--table", "t", "--stack", "s"],
        ["set-callback", "--table", "t", "acc"],  # neither URL nor --clear
        ["set-callback", "--table", "t", "acc", "https://example.com/", "--clear"],
        ["register-application", "--table", "t", "acc"],  # no --public-key-file
        ["frobnicate", "--table", "t"],
    ],
)
def test_usage_errors_exit_2(argv):
    with redirect_stderr(io.StringIO()), pytest.raises(SystemExit) as exit_:
        accounts_cli(argv)
    assert exit_.value.code == 2
