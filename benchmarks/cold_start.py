"""Cold-start imports: every function's handler imported the way Lambda imports it, as a ratio to
a bare boto3 function (`import boto3; boto3.client("dynamodb")`) measured in the same run.

    make bench-cold                   # = python -m benchmarks.cold_start
    python -m benchmarks.cold_start --no-bytecode --runs 5 --source /path/to/another/checkout

The layer and the functions are built with the template's own recipes (`make build-DispatchLayer`,
`make build-<Function>`, what `sam build` runs), except that pip fetches this machine's wheels
(the deployed layer is arm64; its bytecode is the same, its native extensions are not). The
layer is rebuilt when its requirements, its source or the Makefile change (pip needs PyPI then).

Each import runs in a fresh python3.13 process with what Lambda gives a function: the template's
environment (references replaced by dummy values), fake credentials, LAMBDA_TASK_ROOT, the
function directory then the layer's python/ directory on the path (/var/task, /opt/python), and
no writable bytecode cache (PYTHONDONTWRITEBYTECODE: /opt and /var/task are read-only). Runs are
interleaved (baseline, every function, again) so that load on the machine hits them alike; the
figures are medians. Ratios use CPU time (user + sys of the import): on a shared machine wall
time mostly measures waiting for a core. Wall-time ratios are printed beside them.

`--instructions` also counts the instructions each import executes (valgrind's callgrind, once
per function, about half a minute each; the interpreter's own start-up subtracted). Unlike time,
that count does not move with load on the machine, so it shows what a change saves even on a busy
machine; it is not the target's measure (an instruction that waits on memory costs more time).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

from tools.lambda_python import find_python313

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = ROOT / "Makefile"
LAYER = "DispatchLayer"
BASELINE = "baseline (bare boto3 client)"
BASELINE_CODE = 'import boto3; boto3.client("dynamodb")'
# The hot path: a status webhook per message status, a send per step.
TARGETS = {"StatusWebhookFunction": 1.3, "SendMessageFunction": 1.3}
DEFAULT_TARGET = 1.5

# The child: time the import only (the interpreter's own start-up is the same for every function).
CHILD = """
import time
_wall, _cpu = time.perf_counter(), time.process_time()
{code}
_cpu, _wall = time.process_time() - _cpu, time.perf_counter() - _wall
import resource
print(_wall * 1000, _cpu * 1000, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

DUMMY_BY_TYPE = {
    "AWS::DynamoDB::Table": "workflows-bench",
    "AWS::Serverless::StateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:bench",
    "AWS::SQS::Queue": "https://sqs.us-east-1.amazonaws.com/123456789012/bench.fifo",
}


@dataclass
class Subject:
    name: str
    code: str
    path: list[Path]
    env: dict[str, str]
    cwd: Path
    target: float | None = None
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    rss: float = 0.0  # MB, the most the process held once imported
    instructions: int = 0  # executed by the import (--instructions), start-up excluded

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)


# -- the template ---------------------------------------------------------------------------------


def _value(value: Any, template: dict[str, Any]) -> str:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        if name in template.get("Parameters", {}):
            return str(template["Parameters"][name].get("Default", name))
        resource_type = template["Resources"].get(name, {}).get("Type", "")
        return DUMMY_BY_TYPE.get(resource_type, name)
    if isinstance(value, dict):  # Fn::GetAtt, Fn::Sub, ...: any string will do for an import
        return "bench"
    return str(value)


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> {code_uri, handler, memory, environment} for every function."""
    globals_ = template.get("Globals", {}).get("Function", {})
    result = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        variables = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        result[logical_id] = {
            "code_uri": properties["CodeUri"],
            "handler": properties.get("Handler", globals_.get("Handler")),
            "memory": properties.get("MemorySize", globals_.get("MemorySize", 128)),
            "environment": {name: _value(value, template) for name, value in variables.items()},
        }
    return result


def lambda_environment(python_path: list[Path], task_root: Path, name: str, memory: Any) -> dict[str, str]:
    """What the Lambda runtime sets for a function (the parts that imports can notice)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "HOME": str(task_root.parent),
        "PYTHONPATH": os.pathsep.join(str(path) for path in python_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "ASIABENCHMARKBENCHMA",
        "AWS_SECRET_ACCESS_KEY": "benchmark/benchmark/benchmark/benchmark0",
        "AWS_SESSION_TOKEN": "benchmark",
        # Tracing: Active sets these; no daemon listens, nothing is sent during an import.
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        # This machine's ~/.aws must not change what boto3 loads.
        "AWS_CONFIG_FILE": str(task_root / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(task_root / "no-aws-credentials"),
    }


# -- building -------------------------------------------------------------------------------------


def make(target: str, directory: Path, artifacts: Path, python: str, **variables: str) -> None:
    if artifacts.exists():
        shutil.rmtree(artifacts)
    artifacts.mkdir(parents=True)
    settings = [
        f"{name}={value}" for name, value in {"ARTIFACTS_DIR": artifacts, "PYTHON313": python}.items()
    ]
    settings += [f"{name}={value}" for name, value in variables.items()]
    subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", str(MAKEFILE), "-C", str(directory), target, *settings],
        check=True,
    )


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        for file in sorted([path] if path.is_file() else path.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def build_layer(source: Path, code_uri: str, build: Path, python: str, *, rebuild: bool) -> Path:
    """The layer as `make build-DispatchLayer` builds it, with this machine's wheels; reused
    while its inputs are unchanged."""
    layer_source = source / code_uri
    lambda_platform = f"manylinux2014_{platform.machine()}"
    stamp = build / f"{LAYER}.stamp"
    fingerprint = _fingerprint([layer_source, MAKEFILE]) + lambda_platform + python
    artifacts = build / LAYER
    if rebuild or not stamp.exists() or stamp.read_text() != fingerprint:
        print(f"building {LAYER} (pip: {lambda_platform} wheels) ...", file=sys.stderr)
        make(f"build-{LAYER}", layer_source, artifacts, python, LAMBDA_PLATFORM=lambda_platform)
        stamp.write_text(fingerprint)
    return artifacts


def without_bytecode(directory: Path, destination: Path) -> Path:
    """A copy without any .pyc: what a build without compileall ships."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(directory, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return destination


# -- measuring ------------------------------------------------------------------------------------


def run_child(python: str, subject: Subject, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, *extra, "-c", CHILD.format(code=subject.code)],
        env=subject.env,
        cwd=subject.cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def measure(python: str, subject: Subject) -> None:
    result = run_child(python, subject)
    if result.returncode != 0:
        raise SystemExit(f"{subject.name}: the import failed\n{result.stderr}")
    wall, cpu, rss = (float(number) for number in result.stdout.split()[-3:])
    subject.walls.append(wall)
    subject.cpus.append(cpu)
    subject.rss = max(subject.rss, rss)


def executed_instructions(python: str, subject: Subject, code: str | None = None) -> int:
    """Instructions one run of `code` (the subject's import by default) executes, start-up included,
    counted by valgrind's callgrind."""
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/callgrind.out"]
            + [python, "-c", subject.code if code is None else code],
            env=subject.env,
            cwd=subject.cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    counted = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not counted:
        raise SystemExit(f"{subject.name}: callgrind failed\n{result.stderr[-2000:]}")
    return int(counted.group(1))


def import_profile(python: str, subject: Subject) -> dict[str, int]:
    """Top-level package (or module) -> microseconds its own modules took to import (their
    bodies, not what they import), from one run with -X importtime."""
    result = run_child(python, subject, "-X", "importtime")
    packages: dict[str, int] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|", 2)
        package = name.strip().split(".")[0]
        packages[package] = packages.get(package, 0) + int(self_us)
    return packages


def python313(requested: str | None) -> str:
    found = requested or find_python313()
    if found:
        return found
    raise SystemExit("python3.13 not found: set PYTHON313=/path/to/python3.13 (Lambda runs python3.13)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout to measure (default: this one)")
    parser.add_argument(
        "--python", help="python3.13 to run (default: $PYTHON313, python3.13 on PATH, pyenv's 3.13)"
    )
    parser.add_argument("--no-bytecode", action="store_true", help="also measure a build without .pyc")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the layer even if unchanged")
    parser.add_argument("--only", nargs="*", default=None, help="logical ids of the functions to measure")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each import's instructions with valgrind (load-independent; ~30 s a function)",
    )
    args = parser.parse_args(argv)
    if args.instructions and not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")

    python = python313(args.python)
    source = args.source.resolve()
    template = yaml_parse((source / "template.yaml").read_text())
    layer_uri = template["Resources"][LAYER]["Properties"]["ContentUri"]
    build = source / ".aws-sam" / "bench-cold"
    build.mkdir(parents=True, exist_ok=True)
    layer = build_layer(source, layer_uri, build, python, rebuild=args.rebuild)
    variants = {"precompiled": (layer / "python", build / "functions")}
    if args.no_bytecode:
        variants["no .pyc"] = (
            without_bytecode(layer / "python", build / "no-bytecode" / "python"),
            build / "no-bytecode" / "functions",
        )

    specs = {
        name: spec for name, spec in functions(template).items() if args.only is None or name in args.only
    }
    baseline_dir = build / "baseline"
    baseline_dir.mkdir(exist_ok=True)
    subjects = [
        Subject(
            BASELINE,
            BASELINE_CODE,
            [layer / "python"],
            lambda_environment([layer / "python"], baseline_dir, "Baseline", 256),
            baseline_dir,
        )
    ]
    for name, spec in specs.items():
        module = spec["handler"].rpartition(".")[0]
        function_dir = build / "functions" / name
        make(f"build-{name}", source / spec["code_uri"], function_dir, python)
        for variant, (layer_python, functions_dir) in variants.items():
            task_root = function_dir
            if functions_dir != build / "functions":
                task_root = without_bytecode(function_dir, functions_dir / name)
            path = [task_root, layer_python]
            env = {**lambda_environment(path, task_root, name, spec["memory"]), **spec["environment"]}
            env["_HANDLER"] = spec["handler"]
            subject = Subject(f"{name} ({variant})", f"import {module}", path, env, task_root)
            subject.target = TARGETS.get(name, DEFAULT_TARGET) if variant == "precompiled" else None
            subjects.append(subject)

    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs} ...", file=sys.stderr)
        for subject in subjects:
            measure(python, subject)

    baseline = subjects[0]
    if args.instructions:
        start_up = executed_instructions(python, baseline, "pass")
        for subject in subjects:
            print(f"counting instructions: {subject.name} ...", file=sys.stderr)
            subject.instructions = executed_instructions(python, subject) - start_up
    print()
    print(f"Cold-start import, median of {args.runs} fresh python3.13 processes ({platform.machine()}),")
    print("ratio = median CPU time / the bare boto3 baseline's, same run:")
    print()
    counted = " instructions (M) | instructions ratio |" if args.instructions else ""
    print(f"| function | CPU ms | ratio | target | wall ms | wall ratio | max RSS MB |{counted}")
    print("|---|---:|---:|---|---:|---:|---:|" + ("---:|---:|" if args.instructions else ""))
    for subject in subjects:
        ratio, wall_ratio = subject.cpu / baseline.cpu, subject.wall / baseline.wall
        target = ""
        if subject.target:
            target = f"≤ {subject.target} {'ok' if ratio <= subject.target else 'MISSED'}"
        instructions = ""
        if args.instructions:
            share = subject.instructions / baseline.instructions
            instructions = f" {subject.instructions / 1e6:.0f} | {share:.2f} |"
        print(
            f"| {subject.name.replace(' (precompiled)', '')} | {subject.cpu:.0f} | {ratio:.2f} | {target} "
            f"| {subject.wall:.0f} | {wall_ratio:.2f} | {subject.rss:.0f} |{instructions}"
        )
    worst = max((subject for subject in subjects if subject.target), key=lambda subject: subject.cpu)
    baseline_packages = import_profile(python, baseline)
    profile = import_profile(python, worst)
    handler_module = worst.code.split()[-1]
    body_ms = profile.pop(handler_module, 0) / 1000
    beyond = sorted(
        ((us, package) for package, us in profile.items() if package not in baseline_packages), reverse=True
    )
    print()
    print(
        f"Heaviest imports of the worst, {worst.name.replace(' (precompiled)', '')}, beyond the baseline's"
        " (-X importtime, one run, its overhead included):"
    )
    print("  " + ", ".join(f"{package} {us / 1000:.0f} ms" for us, package in beyond[:3]))
    print(f"  ({handler_module}.py's own body, clients included: {body_ms:.0f} ms)")
    print()
    command = " ".join(shlex.quote(part) for part in ["python", "-m", "benchmarks.cold_start", *sys.argv[1:]])
    print(f"command: make bench-cold  ({command}; python3.13: {python})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
