"""The layer's imports, read with `ast` (every import: at module level, inside functions and
under TYPE_CHECKING): no module imports itself through others, and the domain, storage and
integrations never import the HTTP edge (dispatch.api)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "dispatch"
PACKAGE = "dispatch"


def _module_name(path: Path) -> str:
    parts = path.relative_to(LAYER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted((LAYER / PACKAGE).rglob("*.py"))}


def _imported(module: str, source: str, *, is_package: bool = False) -> set[str]:
    """The layer's modules that `module` imports anywhere in its source."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, one level up per extra dot
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from dispatch.api import problems` imports the module dispatch.api.problems.
            found.update(
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in MODULES else origin
                for alias in node.names
            )
    return {name for name in found if name in MODULES and name != module}


GRAPH = {
    module: _imported(module, path.read_text(), is_package=path.name == "__init__.py")
    for module, path in MODULES.items()
}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_layer_is_read_whole() -> None:
    # A guard on the walk itself: it sees the modules and the imports we know are there.
    assert {"dispatch.api.resolver", "dispatch.domain.errors", "dispatch.storage.workflow_repository"} <= set(
        GRAPH
    )
    assert "dispatch.domain.errors" in GRAPH["dispatch.api.resolver"]
    assert "dispatch.api.problems" in GRAPH["dispatch.api.resolver"]


def test_the_layer_has_no_import_cycle() -> None:
    assert _cycles(GRAPH) == []


def test_imports_inside_functions_and_relative_imports_count() -> None:
    # Given: a module whose imports hide in a function, under TYPE_CHECKING, or are relative
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from dispatch.storage import workflow_repository\n"
        "def body():\n    from dispatch.api import problems\n"
        "from . import statuses\n"
        "from ..clock import iso\n"
    )
    # When / Then: each one is an edge of the graph
    assert _imported("dispatch.domain.errors", source) == {
        "dispatch.storage.workflow_repository",
        "dispatch.api.problems",
        "dispatch.domain.statuses",
        "dispatch.clock",
    }


def test_a_cycle_of_any_length_is_found() -> None:
    # Given: a → b → c → a, and d outside the cycle
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    # Then
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("role", ["domain", "storage", "integrations"])
def test_only_the_edge_imports_http(role: str) -> None:
    offenders = {
        module: sorted(name for name in imported if name.startswith(f"{PACKAGE}.api"))
        for module, imported in GRAPH.items()
        if module.startswith(f"{PACKAGE}.{role}")
    }
    assert {module: names for module, names in offenders.items() if names} == {}
