"""The mutants mutmut does not make: module-level tables, model fields and decorated validators.

mutmut 3 mutates function bodies only (it switches them at run time through trampolines). Many
domain rules live elsewhere and are read once, at import: tables (STATUS_RANK,
TEXT_LIMIT_BY_CHANNEL), enum values, pydantic fields (`Field(max_length=4096)`, `Literal[...]`)
and validators registered by decorators. Here they are mutated with mutmut's own operators; each
mutant is tested by importing the mutated module afresh in a forked process and running the unit
tests that run code of the module (as mutmut recorded them).

Run by `python -m mutation` after mutmut (it reads mutmut's record of which tests ran what);
writes mutants/module-level.json. The mutants listed in mutation/equivalents.toml are not run
(`--all` runs them).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import graphlib
import importlib.util
import json
import os
import signal
import sys
import time
import tomllib
import types
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, WhitespaceInclusivePositionProvider
from mutmut.mutation.mutators import mutation_operators, operator_assignment, operator_string
from mutmut.utils.format_utils import get_module_from_key

from mutation.collected import (
    KILLERS,
    collect,
    killers_first,
    own_files_first,
    run_until_failure,
    warm_up_moto,
)
from mutation.equivalents import SKIPPED, change, equivalents
from mutation.targets import LAYER, ROOT, TARGETS, module_of

RESULTS = ROOT / "mutants" / "module-level.json"
STATS = ROOT / "mutants" / "mutmut-stats.json"


@dataclass(frozen=True)
class Mutant:
    module: str
    scope: str  # the table, field or validator mutated, e.g. `Content.text`
    line: int
    removed: tuple[str, ...]  # the changed lines, as in a diff
    added: tuple[str, ...]
    source: str  # the whole mutated module
    number: int  # its place among the module's mutants (mutmut numbers its own likewise)

    @property
    def name(self) -> str:
        return f"{self.module}:{self.scope}__{self.number}"

    @property
    def change(self) -> tuple:
        """What identifies the mutant across runs (line numbers and numbering may shift)."""
        return self.module, self.scope, self.removed, self.added


# -- making the mutants -------------------------------------------------------------------------


def _is_model(node: cst.ClassDef, models: set[str]) -> bool:
    """A pydantic model: its annotations are its validation (a dataclass's or enum's are not)."""
    names = {base.value.value for base in node.bases if isinstance(base.value, cst.Name)}
    return bool(names & ({"BaseModel"} | models))


def _decorated(function: cst.FunctionDef) -> bool:
    """Decorated beyond @staticmethod/@classmethod alone: mutmut leaves such functions alone."""
    decorators = [d.decorator for d in function.decorators]
    if not decorators:
        return False
    plain = len(decorators) == 1 and isinstance(decorators[0], cst.Name)
    return not (plain and decorators[0].value in ("staticmethod", "classmethod"))


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.BaseString)
    )


def _import_time_calls(module: cst.Module) -> set[str]:
    """Module-level functions the module calls while it is imported (in tables, class bodies,
    default values): mutmut swaps functions only after the import, so their mutants are made here."""
    defined = {s.name.value for s in module.body if isinstance(s, cst.FunctionDef)}
    called: set[str] = set()

    class Calls(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False  # a function body runs when called, not at import

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value in defined:
                called.add(node.func.value)

    module.visit(Calls())
    return called


def import_time_functions(path: Path) -> set[str]:
    return _import_time_calls(cst.parse_module(path.read_text()))


def _regions(module: cst.Module) -> Iterator[tuple[str, cst.CSTNode, bool]]:
    """(scope, subtree to mutate, whether to mutate inside annotations) for everything read at import."""
    models: set[str] = set()
    import_time = _import_time_calls(module)
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign | cst.AnnAssign) and small.value is not None:
                    targets = (
                        [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    )
                    scope = ", ".join(module.code_for_node(t) for t in targets)
                    if scope != "__all__":
                        # The value only: a module-level annotation is not checked at run time.
                        yield scope, small.value, False
        elif isinstance(statement, cst.FunctionDef) and (
            _decorated(statement) or statement.name.value in import_time
        ):
            yield statement.name.value, statement.body, False
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            model = _is_model(statement, models)
            if model:
                models.add(statement.name.value)
            for member in statement.body.body:
                if _is_docstring(member):
                    continue
                if isinstance(member, cst.FunctionDef):
                    if _decorated(member):
                        yield f"{statement.name.value}.{member.name.value}", member.body, False
                    continue
                if isinstance(member, cst.SimpleStatementLine):
                    for small in member.body:
                        if isinstance(small, cst.AnnAssign):
                            scope = f"{statement.name.value}.{module.code_for_node(small.target)}"
                            if model:  # a field's type is its validation
                                yield scope, small.annotation, True
                            if small.value is not None:
                                yield scope, small, False  # its default (operator_assignment included)
                        elif isinstance(small, cst.Assign):
                            # Enum members, model_config: the value (None there only breaks the import).
                            names = ", ".join(module.code_for_node(t.target) for t in small.targets)
                            yield f"{statement.name.value}.{names}", small.value, False


def _nodes(subtree: cst.CSTNode, *, annotations: bool) -> Iterator[cst.CSTNode]:
    stack = [subtree]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Decorator) or (isinstance(node, cst.Annotation) and not annotations):
            continue
        if isinstance(node, cst.AnnAssign) and node is not subtree:
            continue
        yield node
        if isinstance(node, cst.AnnAssign):
            # A default only: the annotation is its own region (models) or not behaviour.
            stack.extend([node.value] if node.value is not None else [])
        else:
            stack.extend(reversed(node.children))


def mutants_of(path: Path) -> list[Mutant]:
    module_name = module_of(path)
    source = path.read_text()
    wrapper = MetadataWrapper(cst.parse_module(source))
    module = wrapper.module
    splice = _Splicer(source, module, wrapper.resolve(WhitespaceInclusivePositionProvider))
    lines = source.splitlines()
    seen: set[str] = set()
    mutants: list[Mutant] = []
    for scope, region, in_annotations in _regions(module):
        for node in _nodes(region, annotations=in_annotations):
            if in_annotations and isinstance(node, cst.BinaryOperation):
                continue  # `str | None` as `str & None` only fails the import
            for node_type, operator in mutation_operators:
                if not isinstance(node, node_type):
                    continue
                # `TABLE = None` only shows that the module imports; a model field's default is kept.
                if operator is operator_assignment and region is not node:
                    continue
                variants = list(operator(node))
                if operator is operator_string and not _is_raw(node):
                    # One mutant per table entry or field value (`"XXsmsXX"`): its lower and upper
                    # case twins would be refused or accepted alike. Regexes keep all three.
                    variants = variants[:1]
                for mutated_node in variants:
                    code = splice(node, mutated_node)
                    if code in seen or code == source:
                        continue
                    try:
                        compile(code, str(path), "exec")
                    except SyntaxError:
                        continue
                    seen.add(code)
                    removed, added, line = _changed_lines(lines, code.splitlines())
                    mutants.append(Mutant(module_name, scope, line, removed, added, code, len(mutants) + 1))
    return mutants


class _Splicer:
    """The module's source with one node's text replaced by the mutated node's: what
    `module.deep_replace(node, mutated).code` gives, without rebuilding and printing the whole
    tree for each mutant (that took over half a minute for the 408 mutants)."""

    def __init__(self, source: str, module: cst.Module, positions: Mapping[cst.CSTNode, CodeRange]) -> None:
        self.source, self.module, self.positions = source, module, positions
        starts = [0]
        for line in source.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))
        self.line_starts = starts

    def __call__(self, node: cst.CSTNode, mutated: cst.CSTNode) -> str:
        where = self.positions[node]
        start = self.line_starts[where.start.line - 1] + where.start.column
        end = self.line_starts[where.end.line - 1] + where.end.column
        if self.source[start:end] != self.module.code_for_node(node):  # a node that owns no span of its own
            replaced = self.module.deep_replace(node, mutated)
            assert isinstance(replaced, cst.Module)
            return replaced.code
        return self.source[:start] + self.module.code_for_node(mutated) + self.source[end:]


def _is_raw(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.SimpleString) and "r" in node.prefix.lower()


def _changed_lines(before: list[str], after: list[str]) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    removed: list[str] = []
    added: list[str] = []
    first = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        first = first or i1 + 1
        removed += [line.strip() for line in before[i1:i2]]
        added += [line.strip() for line in after[j1:j2]]
    return tuple(removed), tuple(added), first


# -- which tests -------------------------------------------------------------------------------


def tests_by_module(read: dict[str, set[str]] | None = None) -> dict[str, list[str]]:
    """The unit tests that ran code of each target module (or of a target importing it), as
    recorded by mutmut, and whole every test file that imports the module, or imports another
    module of the project that imports from it one of the names in `read` (the tables and models
    whose mutants are tested: the page sizes of dispatch.domain.workflows are the API's query
    rules, which tests/unit/test_queries.py tests through dispatch.api.queries)."""
    stats = json.loads(STATS.read_text())
    tests: dict[str, set[str]] = {module_of(path): set() for path in TARGETS}
    for key, names in stats["tests_by_mangled_function_name"].items():
        module = get_module_from_key(key)
        if module in tests:
            tests[module].update(names)
    importers = {
        module_of(path): {module_of(other) for other in TARGETS if _imports(other, module_of(path))}
        for path in TARGETS
    }

    # Tests that only call functions mutmut made no mutant of (so no trampoline recorded them),
    # like rank(), still read the tables: every unit test file importing the module runs whole.
    importing: dict[str, list[str]] = {module: [] for module in tests}
    read_through = {module: [module, *_users(module, (read or {}).get(module, set()))] for module in tests}
    for test_file in sorted((ROOT / "tests" / "unit").glob("test_*.py")):
        text, relative = test_file.read_text(), str(test_file.relative_to(ROOT))
        if f"--ignore={relative}" in _selection_args():
            continue
        for module in importing:
            names = read_through[module]
            if any(f"from {name} import" in text or f"import {name}\n" in text for name in names):
                importing[module].append(relative)

    def selection(module: str) -> set[str]:
        ids = tests[module].union(*(tests[other] for other in importers[module]))
        whole = set(importing[module])
        return whole | {test for test in ids if test.split("::")[0] not in whole}

    return {module: sorted(selection(module)) for module in tests}


def _users(module: str, names: set[str]) -> list[str]:
    """The modules of the layer, the local stack and the admin CLI that are not mutated and import
    one of `names` from `module` (functions/ are left out: the unit tests load them by path)."""
    targets = {path.resolve() for path in TARGETS}
    paths = [*sorted(LAYER.rglob("*.py")), *sorted((ROOT / "local_stack").rglob("*.py"))]
    paths += sorted((ROOT / "admin").rglob("*.py"))
    users = []
    for path in paths:
        if path.resolve() in targets or not names:
            continue
        imported = {
            alias.name
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module == module
            for alias in node.names
        }
        if imported & names:
            base = LAYER if path.is_relative_to(LAYER) else ROOT
            users.append(".".join(path.relative_to(base).with_suffix("").parts))
    return users


def _selection_args() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return config["pytest_add_cli_args_test_selection"]


def _imports(path: Path, module: str) -> bool:
    text = path.read_text()
    package, _, name = module.rpartition(".")
    return f"from {module} import" in text or f"from {package} import {name}" in text


# -- running them ------------------------------------------------------------------------------
# One process collects the unit tests once; each mutant runs in a child forked from it, which
# executes the mutated source in place of the module and runs the module's tests, stopping at the
# first failure. Importing and collecting afresh for each mutant took about 20 s a mutant.

DETECTED = {"killed", "timeout"}  # "error" (a broken run) is tested again
SURVIVED, KILLED, BROKEN = 0, 1, 3  # a child's exit status (BROKEN: the mutant fails to import)
STATUS_BY_EXIT = {SURVIVED: "survived", KILLED: "killed", BROKEN: "killed"}


def _project_modules() -> dict[str, Path]:
    """The loaded modules of this repository (the layer, local_stack, the unit tests and their
    helpers), without mutation/ itself."""
    modules = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and file.endswith(".py") and not name.startswith("mutation"):
            path = Path(file).resolve()
            if path.is_relative_to(ROOT):
                modules[name] = path
    return modules


def _imported_at_import(name: str, path: Path) -> set[str]:
    """The modules `name` imports while it is imported (an import inside a function runs when the
    function is called, and then finds the mutated module in sys.modules)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    class Imports(ast.NodeVisitor):
        def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
            pass

        def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
            pass

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            found.add(base)  # `from dispatch.domain import statuses` imports a module too:
            found.update(f"{base}.{alias.name}" for alias in node.names)

    Imports().visit(ast.parse(path.read_text()))
    return found


class Reloader:
    """Puts a mutant in place of a module in a process that imported the unmutated one.

    Other modules hold what they imported from it (`from dispatch.domain.statuses import
    TERMINAL`), and built tables, models and default values from it. So the mutated module is
    imported afresh, and then every module of the repository that imports it, directly or not,
    in import order; each old module's namespace is then updated with the new one's, so that a
    function collected before (a test, a fixture) sees the new objects. Parametrized test cases
    keep the values they were collected with, except classes and functions (see install)."""

    def __init__(self) -> None:
        modules = _project_modules()
        names = set(modules)
        self.code = {name: compile(path.read_text(), str(path), "exec") for name, path in modules.items()}
        self.imports = {name: _imported_at_import(name, path) & names for name, path in modules.items()}

    def dependents(self, module: str) -> list[str]:
        """`module` and every module importing it, directly or not, each after what it imports."""
        affected, todo = {module}, [module]
        while todo:
            current = todo.pop()
            for name, imported in self.imports.items():
                if current in imported and name not in affected:
                    affected.add(name)
                    todo.append(name)
        graph = {name: self.imports[name] & affected for name in affected}
        return list(graphlib.TopologicalSorter(graph).static_order())

    def install(self, module: str, source: str | None, items: list) -> None:
        """Import `source` (None: the unmutated module) as `module`, then its dependents; then
        give the tests parametrized with a class or function of theirs (`parametrize("model",
        [WorkflowStep, ...])`) the new one, as collecting them again would."""
        renewed: dict[int, object] = {}
        for name in self.dependents(module):
            old = sys.modules[name]
            # A fresh namespace, as at a first import: pydantic must not resolve a model's
            # forward references to the old classes still in the old namespace.
            new = types.ModuleType(name)
            for key in ("__file__", "__spec__", "__loader__", "__package__", "__path__", "__builtins__"):
                if hasattr(old, key):
                    setattr(new, key, getattr(old, key))
            sys.modules[name] = new
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, new)
            code = self.code[name]
            if name == module and source is not None:
                code = compile(source, code.co_filename, "exec")
            exec(code, new.__dict__)
            renewed.update(
                (id(value), new.__dict__[key])
                for key, value in old.__dict__.items()
                if isinstance(value, type | types.FunctionType) and key in new.__dict__
            )
            old.__dict__.update(new.__dict__)
        for item in items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            for key, value in params.items():
                params[key] = renewed.get(id(value), value)


def _silenced() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


def _fork(session, reloader: Reloader, mutant: Mutant | None, module: str, items: list) -> int:
    """A child that installs the mutant (None: the unmutated module) and runs `items`."""
    pid = os.fork()
    if pid:
        return pid
    code = BROKEN
    try:
        _silenced()
        try:
            reloader.install(module, mutant and mutant.source, items)
        except BaseException:  # noqa: BLE001 - a mutant that breaks the import is detected
            os._exit(BROKEN)
        if mutant is None:
            code = SURVIVED if run_until_failure(session, items) else KILLED
        else:
            key = f"{module}:{mutant.scope}"
            items = killers_first(module, key, items)
            code = SURVIVED if run_until_failure(session, items, module=module, key=key) else KILLED
    finally:
        os._exit(code)


def _items_by_module(session, tests: dict[str, list[str]]) -> dict[str, list]:
    """The collected items of each module's tests (a bare file name stands for all its tests)."""
    order = {item.nodeid: index for index, item in enumerate(session.items)}
    by_file: dict[str, list] = {}
    for item in session.items:
        by_file.setdefault(item.nodeid.split("::")[0], []).append(item)
    by_id = {item.nodeid: item for item in session.items}
    items: dict[str, list] = {}
    for module, ids in tests.items():
        selected = {}
        for test in ids:
            for item in by_file.get(test, []) if "::" not in test else [by_id[test]] if test in by_id else []:
                selected[item.nodeid] = item
        unknown = [test for test in ids if test not in by_id and test not in by_file]
        if unknown:
            print(f"    {module}: {len(unknown)} recorded tests not collected, e.g. {unknown[0]}", flush=True)
        items[module] = own_files_first(module, selected.values(), order)
    return items


def run(mutants: list[Mutant], tests: dict[str, list[str]], *, jobs: int) -> dict[str, str]:
    """Each mutant's status: killed, survived, timeout or no tests."""
    os.chdir(ROOT)
    sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "dispatch")]
    session = collect(["--rootdir", str(ROOT), "-p", "no:cacheprovider", *_selection_args()])
    items = _items_by_module(session, tests)
    warm_up_moto()
    reloader = Reloader()

    # A mutant's tests may take 5 times what they took in mutmut's run of every test, plus 30 s.
    durations = json.loads(STATS.read_text())["duration_by_test"]
    limits: dict[str, float] = {}
    for module in sorted({mutant.module for mutant in mutants}):
        estimate = sum(durations.get(item.nodeid, 0.1) for item in items[module])
        limits[module] = 30 + 5 * estimate
        print(f"    {module}: {len(items[module])} tests, {estimate:.1f} s", flush=True)

    statuses: dict[str, str] = {}
    queue = list(mutants)
    running: dict[int, tuple[Mutant, float]] = {}
    while queue or running:
        while queue and len(running) < jobs:
            mutant = queue.pop(0)
            if not items[mutant.module]:
                statuses[mutant.name] = "no tests"
                continue
            child = _fork(session, reloader, mutant, mutant.module, items[mutant.module])
            running[child] = (mutant, time.monotonic())
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            time.sleep(0.01)
            for child, (mutant, started) in list(running.items()):
                if time.monotonic() - started > limits[mutant.module]:
                    os.kill(child, signal.SIGKILL)
                    os.waitpid(child, 0)
                    del running[child]
                    statuses[mutant.name] = "timeout"
            continue
        if pid in running:
            mutant, since = running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            statuses[mutant.name] = STATUS_BY_EXIT.get(code, "killed" if code < 0 else "error")
            took = f"{time.monotonic() - since:5.1f} s"
            print(
                f"{len(statuses)}/{len(mutants)} {statuses[mutant.name]:<9} {took} {mutant.name}", flush=True
            )
    _check_killers(session, reloader, items, jobs=jobs)
    return statuses


def _check_killers(session, reloader: Reloader, items: dict[str, list], *, jobs: int) -> None:
    """The tests that killed mutants of a module must pass with the module reloaded unmutated,
    installed as the mutants were; else the reloading itself may have killed them. (Checking
    only these, once each, costs a fraction of running every module's tests unmutated first.)"""
    killed_by: dict[str, set[str]] = {}
    for path in KILLERS.glob("*") if KILLERS.exists() else []:
        for line in path.read_text().splitlines():
            key, _, nodeid = line.partition("\t")
            if ":" in key:  # module:scope, this pass's (mutmut's keys are function names)
                killed_by.setdefault(key.partition(":")[0], set()).add(nodeid)
    modules = [module for module in sorted(killed_by) if module in items]
    order = {item.nodeid: index for index, item in enumerate(session.items)}
    started: dict[int, tuple[str, float]] = {}
    while modules or started:
        while modules and len(started) < jobs:
            module = modules.pop(0)
            killers = [item for item in items[module] if item.nodeid in killed_by[module]]
            killers.sort(key=lambda item: order[item.nodeid])  # in file order: fixtures set up once
            started[_fork(session, reloader, None, module, killers)] = (module, time.monotonic())
        pid, status = os.wait()
        module, since = started.pop(pid)
        if os.waitstatus_to_exitcode(status) != SURVIVED:
            raise SystemExit(
                f"the tests that killed mutants of {module} fail with the module reloaded unmutated: "
                "the reloading, not the mutants, may have killed them"
            )
        count = len(killed_by[module])
        print(f"    checked: the {count} tests that killed mutants of {module} pass unmutated", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--recheck", action="store_true", help="only the mutants the last run did not kill")
    parser.add_argument("--all", action="store_true", help="run the mutants listed as equivalent too")
    args = parser.parse_args(argv)
    mutants = [mutant for path in TARGETS for mutant in mutants_of(path)]
    statuses: dict[str, str] = {}
    if args.recheck and RESULTS.exists():
        before = {
            (m["module"], m["scope"], tuple(m["removed"]), tuple(m["added"])): m["status"]
            for m in json.loads(RESULTS.read_text())
        }
        statuses = {mutant.name: "killed" for mutant in mutants if before.get(mutant.change) in DETECTED}
    if not args.all:
        # An equivalent mutant survives after running every test of its module: not run.
        known = equivalents()
        statuses |= {
            mutant.name: SKIPPED
            for mutant in mutants
            if mutant.name not in statuses and change(*mutant.change) in known
        }
    todo = [mutant for mutant in mutants if mutant.name not in statuses]
    skipped = sum(status == SKIPPED for status in statuses.values())
    print(
        f"    {len(mutants)} module-level mutants, {skipped} equivalent (not run), {len(todo)} to test",
        flush=True,
    )
    # The names each module's mutants change (`Content.text` changes Content), read elsewhere too.
    read: dict[str, set[str]] = {}
    for mutant in todo:
        read.setdefault(mutant.module, set()).update(name.split(".")[0] for name in mutant.scope.split(", "))
    statuses.update(run(todo, tests_by_module(read), jobs=args.jobs))
    RESULTS.write_text(
        json.dumps(
            [
                {**asdict(mutant), "source": None, "name": mutant.name, "status": statuses[mutant.name]}
                for mutant in mutants
            ],
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
