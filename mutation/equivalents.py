"""The equivalent mutants listed in mutation/equivalents.toml, and how a mutant is matched to one.

A mutant matches an entry by module, scope (function, `Class.method`, table or field) and its
changed lines, whitespace-insensitive. Both passes skip the mutants that match (an equivalent
mutant cannot be killed, so it would run every test of its selection for nothing) unless asked
to run them all (`python -m mutation --all`); the report counts them as equivalent either way.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable

from mutation.targets import ROOT

EQUIVALENTS = ROOT / "mutation" / "equivalents.toml"
SKIPPED = "skipped"  # the status of a mutant not run because it is listed (mutmut's own word)

Change = tuple[str, str, tuple[str, ...], tuple[str, ...]]


def normal(lines: Iterable[str]) -> tuple[str, ...]:
    return tuple(" ".join(line.split()) for line in lines)


def change(module: str, scope: str, removed: Iterable[str], added: Iterable[str]) -> Change:
    """What identifies a mutant across runs and passes (line numbers and numbering may shift)."""
    return module, scope, normal(removed), normal(added)


def equivalents() -> dict[Change, str]:
    """Each listed mutant, with its reason."""
    entries = tomllib.loads(EQUIVALENTS.read_text()).get("equivalent", [])
    return {change(e["module"], e["scope"], e["removed"], e["added"]): e["reason"] for e in entries}
