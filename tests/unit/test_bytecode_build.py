"""What `sam build` ships: the template's build recipes (`make build-<LogicalId>`, BuildMethod:
makefile) give every module of the layer and of the functions bytecode that Lambda's python3.13
uses as it is, from a read-only /opt and /var/task, and tools/check_bytecode.py notices when it
does not.

No network: the layer's pip step is left out (LAYER_PIP_INSTALL=true); the rest of each recipe,
copying the source and compiling it, runs as `sam build` runs it, on a copy of the source.
"""

from __future__ import annotations

import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.deploy import ROOT, code_directories, load_template

CHECK = ROOT / "tools" / "check_bytecode.py"
LAYER = "DispatchLayer"


def _python313() -> str | None:
    for candidate in (os.environ.get("PYTHON313"), shutil.which("python3.13")):
        if not candidate:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == "True":
            return candidate
    return None


PYTHON313 = _python313()
needs_python313 = pytest.mark.skipif(
    PYTHON313 is None, reason="python3.13 (Lambda's runtime) not found; set PYTHON313 to its path"
)
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def build(source: Path, output: Path, python: str) -> dict[str, Path]:
    """Run every resource's build recipe on a copy of `source`, as `sam build` does (a scratch
    copy, then `make build-<LogicalId>` in it with ARTIFACTS_DIR); logical id -> artifacts."""
    directories = code_directories(load_template())
    artifacts = {}
    for logical_id, directory in directories.items():
        scratch = source / directory.relative_to(ROOT)
        artifacts[logical_id] = output / logical_id
        artifacts[logical_id].mkdir(parents=True)
        subprocess.run(
            [
                "make",
                "-s",
                "--no-print-directory",
                "-f",
                str(ROOT / "Makefile"),
                "-C",
                str(scratch),
                f"build-{logical_id}",
                f"ARTIFACTS_DIR={artifacts[logical_id]}",
                f"PYTHON313={python}",
                "LAYER_PIP_INSTALL=true",
            ],
            check=True,
        )
    return artifacts


def check(build_dir: Path, python: str) -> subprocess.CompletedProcess:
    return subprocess.run([python, str(CHECK), str(build_dir)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, Path], str]:
    python = PYTHON313 or sys.executable
    source = tmp_path_factory.mktemp("source")
    for directory in code_directories(load_template()).values():
        shutil.copytree(
            directory, source / directory.relative_to(ROOT), ignore=shutil.ignore_patterns("*.pyc")
        )
    # A stale, timestamp-based .pyc in the working tree must not reach the artifacts.
    planted = source / "layers" / "dispatch" / "dispatch" / "clock.py"
    py_compile.compile(str(planted), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    output = tmp_path_factory.mktemp("build")
    return output, build(source, output, python), python


def test_every_resource_of_the_template_has_a_build_recipe(built) -> None:
    _, artifacts, _ = built
    template = load_template()
    resources = {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion")
    }
    assert set(artifacts) == resources
    for logical_id in resources:
        assert template["Resources"][logical_id]["Metadata"]["BuildMethod"] == "makefile"


def test_every_module_of_the_layer_and_the_functions_ships_its_bytecode(built) -> None:
    output, artifacts, python = built
    layer_modules = sorted((artifacts[LAYER] / "python" / "dispatch").rglob("*.py"))
    assert len(layer_modules) > 20
    for logical_id, directory in artifacts.items():
        assert list(directory.rglob("*.py")), logical_id

    result = check(output, python)

    assert result.returncode == 0, result.stderr
    cache_tag = subprocess.run(
        [python, "-c", "import sys; print(sys.implementation.cache_tag)"], capture_output=True, text=True
    ).stdout.strip()
    for source in [*layer_modules, *(artifacts[name] / "app.py" for name in artifacts if name != LAYER)]:
        assert (source.parent / "__pycache__" / f"{source.stem}.{cache_tag}.pyc").is_file(), source
    # Nothing else: the working tree's own __pycache__ (other Pythons, timestamp .pycs) stays out.
    assert {pyc.name.split(".")[-2] for pyc in output.rglob("*.pyc")} == {cache_tag}


def test_the_check_fails_without_usable_bytecode(built, tmp_path) -> None:
    output, artifacts, python = built
    copy = tmp_path / "build"
    shutil.copytree(output, copy)
    function = next(name for name in artifacts if name != LAYER)
    # A timestamp .pyc: stale on Lambda, where every file is dated 1980-01-01
    module = copy / LAYER / "python" / "dispatch" / "clock.py"
    timestamp_pyc = (
        "import py_compile as p, sys; "
        "p.compile(sys.argv[1], invalidation_mode=p.PycInvalidationMode.TIMESTAMP)"
    )
    subprocess.run([python, "-c", timestamp_pyc, str(module)], check=True)
    for pyc in (copy / function / "__pycache__").iterdir():
        pyc.unlink()

    result = check(copy, python)

    assert result.returncode == 1
    assert f"{function}/app.py: no .pyc" in result.stderr
    assert "dispatch/clock.py: not unchecked-hash" in result.stderr


def test_the_check_fails_on_bytecode_of_another_source(built, tmp_path) -> None:
    output, _, python = built
    copy = tmp_path / "build"
    shutil.copytree(output, copy)
    module = copy / LAYER / "python" / "dispatch" / "clock.py"
    module.write_text(module.read_text() + "\n# edited after the build\n")

    result = check(copy, python)

    assert result.returncode == 1
    assert "dispatch/clock.py: stale" in result.stderr


@needs_python313
def test_python313_loads_every_module_from_its_bytecode_without_reading_the_source(built, tmp_path) -> None:
    # Given the build with every source replaced by something that cannot compile
    output, _, _ = built
    copy = tmp_path / "build"
    shutil.copytree(output, copy)
    sources = sorted(copy.rglob("*.py"))
    for source in sources:
        source.write_text("this is not python (\n")
    # When python3.13's import machinery loads each module's code, as `import` does
    loader = """
import importlib.machinery, sys
for path in sys.argv[1:]:
    importlib.machinery.SourceFileLoader("module", path).get_code("module")
print("loaded", len(sys.argv) - 1)
"""
    result = subprocess.run(
        [PYTHON313, "-c", loader, *map(str, sources)], capture_output=True, text=True, check=False
    )
    # Then every module comes from its .pyc: compiling any source would have raised SyntaxError
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"loaded {len(sources)}"


@needs_python313
def test_python313_imports_layer_modules_from_a_read_only_bytecode_cache(built, tmp_path) -> None:
    output, _, _ = built
    layer = tmp_path / "opt" / "python"
    shutil.copytree(output / LAYER / "python", layer)
    (layer / "dispatch" / "domain" / "statuses.py").write_text("raise RuntimeError('compiled from source')\n")
    os.utime(layer / "dispatch" / "clock.py", (0, 0))  # any mtime: 1980-01-01 after sam deploy's zip

    result = subprocess.run(
        [
            PYTHON313,
            "-c",
            "import dispatch.clock, dispatch.domain.statuses as s; print(s.parse_client_ref('uuid:2'))",
        ],
        env={"PYTHONPATH": str(layer), "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('uuid', 2)"
