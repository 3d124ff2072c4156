"""The commands in README.md and docs/*.md marked `<!-- check -->`, and those the local stack
prints in its banner, run as written against the local stack, from a shell without any AWS
setting.

Only what must differ for a test is replaced: the session stack's ports and credentials stand in
for 127.0.0.1:3000, 127.0.0.1:5000 and demo:demo-secret, the venv for `.venv/bin/`, and the
sandbox recipients become ones whose sends are refused at once, so that no workflow of these
commands keeps running behind the other tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import recipient, wait_for_end
from tests.markdown_docs import ROOT, Block, code_blocks, markdown_files

CHECKED = [block for path in markdown_files() for block in code_blocks(path) if block.marker == "check"]
REFUSED_AT_ONCE = {"4200000000000001": "4200000000000005", "447700900123": "447700900105"}


def shell_environment(home: Path) -> dict[str, str]:
    """This process's environment without AWS_* (the stack set them for its own clients)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment["HOME"] = str(home)  # no ~/.aws either
    return environment


def as_run_here(code: str, stack) -> str:
    settings = stack.settings
    replacements = {
        "http://127.0.0.1:5000": stack.moto_url,
        "http://127.0.0.1:3000": stack.api_url,
        "demo:demo-secret": f"{settings.api_key}:{settings.api_secret}",
        ".venv/bin/": f"{Path(sys.executable).parent}/",
        "PYTHONPATH=.:layers/dispatch": f"PYTHONPATH={ROOT}:{ROOT / 'layers' / 'dispatch'}",
        "--region us-east-1": f"--region {settings.region}",
        "--stack workflows-api": f"--stack {settings.stack_name}",
        **REFUSED_AT_ONCE,
    }
    for documented, here in replacements.items():
        code = code.replace(documented, here)
    return code


def run_shell(script: str, *, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=shell_environment(home),
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def an_execution(stack, api) -> str:
    """One finished workflow, so that the execution commands have an execution to show."""
    body = {
        "template": "failover",
        "workflow": [
            {
                "from": {"type": "sms", "number": "447700900000"},
                "to": {"type": "sms", "number": recipient("05")},
                "message": {"content": {"type": "text", "text": "hi"}},
            }
        ],
    }
    response = api.post(f"{stack.api_url}/v0.1/dispatch", json=body)
    assert response.status_code == 202, response.text
    dispatch_uuid = response.json()["dispatch_uuid"]
    wait_for_end(api, stack, dispatch_uuid)
    return dispatch_uuid


def test_the_docs_have_commands_to_check():
    assert {block.path.name for block in CHECKED} >= {"README.md", "accounts.md", "local-stack.md"}


@pytest.mark.parametrize("block", CHECKED, ids=[block.where for block in CHECKED])
def test_a_documented_command_runs_as_written(stack, an_execution, tmp_path, block: Block):
    result = run_shell(as_run_here(block.code, stack), cwd=tmp_path, home=tmp_path)

    assert result.returncode == 0, f"{block.where}\n{result.stdout}\n{result.stderr}"
    if block.expect:
        assert block.expect in result.stdout, f"{block.where}\n{result.stdout}\n{result.stderr}"


def test_the_commands_the_local_stack_prints_run_as_printed(stack, an_execution, tmp_path):
    # Given the banner's commands (indented lines after its "Inspect executions" line), with
    # the one placeholder it has filled in
    banner = stack.banner().split("Inspect executions", 1)[1]
    commands = [line for line in banner.splitlines() if line.startswith("  ")]
    script = "\n".join(commands).replace("<dispatch_uuid>", an_execution)

    # When they run from where the stack was started, in a shell without any AWS setting
    result = run_shell(script, cwd=Path.cwd(), home=tmp_path)

    # Then every one of them works: executions, an execution's history, the accounts
    assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
    assert an_execution in result.stdout and '"name": "Send message"' in result.stdout
    assert "account_id=demo-account" in result.stdout
