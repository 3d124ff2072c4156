"""python -m admin.accounts where AWS is not configured: one line that says what is missing and a
non-zero exit, never a traceback. (Against the local stack: tests/integration/test_accounts_cli.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from admin.accounts import main as accounts_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_aws_settings(monkeypatch, tmp_path):
    """An environment without any AWS variable or config file (as on a newcomer's machine)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws
    # No instance-metadata lookups from a test (they would leave the machine).
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_run_as_documented_without_a_region_it_says_so_in_one_line(tmp_path):
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(
        PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'dispatch'}",
        HOME=str(tmp_path),
        AWS_EC2_METADATA_DISABLED="true",
    )

    result = subprocess.run(
        [sys.executable, "-m", "admin.accounts", "list", "--stack", "workflows-api"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert (result.returncode, result.stdout) == (2, "")
    assert (
        result.stderr
        == "error: no AWS region: pass --region, or set AWS_DEFAULT_REGION or a profile's region\n"
    )


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"AWS_DEFAULT_REGION": "eu-west-1"}, "error: no AWS credentials: set AWS_PROFILE"),
        (
            {"AWS_PROFILE": "no-such-profile"},
            "error: The config profile (no-such-profile) could not be found",
        ),
    ],
    ids=["no credentials", "unknown profile"],
)
def test_other_missing_settings_are_one_line_and_exit_2(no_aws_settings, monkeypatch, capsys, env, says):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    status = accounts_cli(["list", "--stack", "workflows-api"])

    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.startswith(says) and err.count("\n") == 1


def test_a_local_endpoint_that_is_down_is_one_line_and_exit_1(no_aws_settings, capsys):
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"

        status = accounts_cli(["list", "--table", "t", "--endpoint-url", endpoint])

    err = capsys.readouterr().err
    assert status == 1
    assert err == (
        f'error: Could not connect to the endpoint URL: "{endpoint}/" '
        "(is the local stack running? make run)\n"
    )
