"""README.md and docs/*.md stand alone in a clone: every link resolves to a file (and heading)
inside the repository, and the shell commands that talk to the local stack are either run by
tests/integration/test_documented_commands.py or say why not."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote, urlsplit

import pytest

from dispatch.api.examples import example_workflow
from tests.markdown_docs import ROOT, anchors, code_blocks, links, markdown_files

FILES = markdown_files()
IDS = [str(path.relative_to(ROOT)) for path in FILES]
EXTERNAL = ("http://", "https://", "mailto:")
LOCAL_STACK = re.compile(r"127\.0\.0\.1:(3000|5000)")


def test_the_docs_are_there():
    names = {path.name for path in FILES}
    assert {"README.md", "api.md", "failover.md", "architecture.md", "local-stack.md"} <= names
    assert {"decisions.md", "changelog.md"} <= names


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_every_relative_link_resolves_inside_the_repository(path):
    broken = []
    for target in links(path):
        if target.startswith(EXTERNAL):
            continue
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            broken.append(f"{target}: not a relative link")
            continue
        resolved = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif not resolved.is_file():
            broken.append(f"{target}: no such file")
        elif parts.fragment and resolved.suffix == ".md" and parts.fragment not in anchors(resolved):
            broken.append(f"{target}: no heading #{parts.fragment} in {resolved.relative_to(ROOT)}")
    assert broken == []


def test_the_readme_links_only_inside_the_repository():
    assert [target for target in links(ROOT / "README.md") if target.startswith(EXTERNAL)] == []


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_shell_blocks_that_use_the_local_stack_are_checked_or_say_why(path):
    unmarked = [
        block.where for block in code_blocks(path) if LOCAL_STACK.search(block.code) and block.marker is None
    ]
    assert unmarked == [], "mark them <!-- check --> or <!-- not checked: why --> (see docs/development.md)"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_every_aws_command_with_an_endpoint_names_its_region(path):
    # Without --region, the AWS CLI stops with "You must specify a region".
    commands = [
        command
        for block in code_blocks(path)
        for command in block.code.replace("\\\n", " ").splitlines()
        if re.search(r"(^|[\s/])aws\s", command) and "--endpoint-url" in command
    ]
    # ... and in running text: `aws --endpoint-url http://... ...` (not a mere mention of the option)
    inline = re.findall(r"`([^`\n]*aws [^`\n]*)`", path.read_text())
    commands += [text for text in inline if "--endpoint-url http" in text]
    assert [command for command in commands if "--region" not in command] == []


def test_checked_blocks_are_shell():
    for path in FILES:
        for block in code_blocks(path):
            if block.marker == "check":
                assert block.lang == "sh", block.where


def create_bodies(path) -> list[tuple[str, dict]]:
    """The workflow bodies shown in a file: JSON blocks, and JSON in single quotes in shell blocks."""
    bodies = []
    for block in code_blocks(path):
        texts = [block.code] if block.lang == "json" else re.findall(r"'(\{.*?\})'", block.code, re.DOTALL)
        for text in texts:
            try:
                body = json.loads(text)
            except ValueError:
                continue
            steps = body.get("workflow") if isinstance(body, dict) else None
            # A create body's steps have `from`; a workflow as GET shows it has none.
            if isinstance(steps, list) and steps and all("from" in step for step in steps):
                bodies.append((block.where, body))
    return bodies


def test_every_workflow_body_in_the_docs_is_the_canonical_example():
    bodies = [found for path in FILES for found in create_bodies(path)]

    assert len(bodies) >= 3  # README's curl, api.md's request and its idempotency example, ...
    for where, body in bodies:
        body.pop("callback", None)  # the callback walkthrough adds one
        assert body == example_workflow(), f"{where}: not dispatch/api/example_workflow.json"
