"""Reading README.md and docs/*.md for the docs' tests: their links, headings and code blocks, and
the markers that say whether a shell block is run against the local stack.

    <!-- check -->                  run the next block as written
                                    (tests/integration/test_documented_commands.py)
    <!-- check expect="text" -->    ... and its output must contain `text`
    <!-- not checked: why -->       a block that cannot run unattended (a server, a value to fill in)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)")
MARKER = re.compile(
    r'^<!--\s*(?P<kind>check|not checked)(?:\s+expect="(?P<expect>[^"]*)")?(?P<why>:[^>]*)?\s*-->$'
)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(?P<target>\S+)", re.MULTILINE)
HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*(?:href|src)=\"(?P<target>[^\"]+)\"")
HEADING = re.compile(r"^(#{1,6})\s+(?P<text>.+?)\s*#*\s*$")


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None  # "check", "not checked" or None
    expect: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent = opening["indent"]
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        code = "\n".join(line.removeprefix(indent) for line in lines[i + 1 : end])
        previous = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(previous)
        blocks.append(
            Block(
                path=path,
                line=i + 1,
                lang=opening["lang"],
                code=code + "\n",
                marker=marker["kind"] if marker else None,
                expect=marker["expect"] if marker else None,
            )
        )
        i = end + 1
    return blocks


def without_code_blocks(path: Path) -> str:
    return re.sub(r"^ *```.*?^ *```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)


def prose(path: Path) -> str:
    """The text outside code blocks and inline code, where links are links."""
    return re.sub(r"`[^`\n]*`", "", without_code_blocks(path))


def links(path: Path) -> list[str]:
    text = prose(path)
    return [m["target"] for pattern in (LINK, REFERENCE, HTML_LINK) for m in pattern.finditer(text)]


def anchors(path: Path) -> set[str]:
    """GitHub's ids for the headings of a Markdown file."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for line in without_code_blocks(path).splitlines():
        heading = HEADING.match(line)
        if not heading:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading["text"]).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result
