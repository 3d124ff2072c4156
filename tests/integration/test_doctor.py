"""`python -m admin.doctor` against the local stack: all is well, then a removed or malformed
secret is reported with how to fix it (and the exit status says so)."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager, redirect_stderr, redirect_stdout

import pytest

from admin.doctor import main as doctor
from local_stack.stack import MESSAGES_API_SECRET_NAME


def run_doctor(stack, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = doctor(
            [
                "--stack",
                stack.settings.stack_name,
                "--endpoint-url",
                stack.moto_url,
                "--api-url",
                stack.api_url,
                *args,
            ]
        )
    return status, out.getvalue() + err.getvalue()


def checks(output: str) -> list[str]:
    """The doctor's result lines (the functions it calls log to the same stdout here)."""
    return [line for line in output.splitlines() if line.startswith(("ok  ", "FAIL  ", "skip  "))]


@contextmanager
def secret_changed(stack, name: str, value: str | None):
    """The secret replaced by `value` (None: deleted) for the block, then restored."""
    secrets = stack.client("secretsmanager")
    original = secrets.get_secret_value(SecretId=name)["SecretString"]
    if value is None:
        secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    else:
        secrets.put_secret_value(SecretId=name, SecretString=value)
    try:
        yield
    finally:
        if value is None:
            secrets.create_secret(Name=name, SecretString=original)
        else:
            secrets.put_secret_value(SecretId=name, SecretString=original)


def test_a_working_stack_passes_every_check(stack):
    status, output = run_doctor(stack)

    assert status == 0, output
    assert [line.split()[0] for line in checks(output)] == ["ok"] * 5, output
    assert "all checks passed" in output


def test_a_removed_messages_api_secret_is_a_failure_that_says_how_to_fix_it(stack):
    with secret_changed(stack, MESSAGES_API_SECRET_NAME, None):
        status, output = run_doctor(stack)

    assert status == 1
    assert f"FAIL  Messages API secret: {MESSAGES_API_SECRET_NAME} does not exist" in output
    assert f"fix: aws secretsmanager create-secret --name {MESSAGES_API_SECRET_NAME}" in output
    assert "skip  Messages API credentials" in output
    assert "1 check(s) failed" in output


def test_a_removed_signature_secret_is_a_failure(stack):
    from local_stack.stack import WEBHOOK_SIGNATURE_SECRET_NAME

    with secret_changed(stack, WEBHOOK_SIGNATURE_SECRET_NAME, None):
        status, output = run_doctor(stack)

    assert status == 1
    assert f"FAIL  webhook signature secret: {WEBHOOK_SIGNATURE_SECRET_NAME} does not exist" in output


@pytest.mark.parametrize(
    ("value", "failure"),
    [
        ("not json", "FAIL  Messages API secret"),
        (json.dumps({"api_key": "sandbox-key", "api_secret": "wrong"}), "FAIL  Messages API credentials"),
    ],
)
def test_a_malformed_or_wrong_messages_api_secret_is_a_failure(stack, value, failure):
    with secret_changed(stack, MESSAGES_API_SECRET_NAME, value):
        status, output = run_doctor(stack)

    assert status == 1
    assert failure in output, output


def test_an_unknown_stack_is_a_usage_error(stack):
    status, output = run_doctor(stack, "--stack", "no-such-stack")

    assert status == 2
    assert "no-such-stack" in output
