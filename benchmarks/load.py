"""The local stack under load (not a test): N canonical workflows from C concurrent clients,
followed to their end, then throughput, latencies, the stack's CPU and memory, and whether every
workflow ended as its sandbox recipients say it must.

Each workflow is Messenger (condition `read` within --expiry seconds) failing over to SMS; both
recipients end in the same sandbox suffix, rotating over 00 01 03 05 06 07 08, so the expected
outcome of every workflow is known in advance (see EXPECTED).

The stack runs as its own process (`python -m local_stack --no-demo`, as `make run` starts it) so
that the clients here do not share its CPU accounting. The sandbox writes every send and status
delivery to a JSON-lines file (LOCAL_SANDBOX_LOG), which gives the duplicate sends and the
status-webhook lag: from the sandbox's first POST of a status to the status webhook's 2xx
answer, which the function gives only after the status is stored in DynamoDB.

Run: make load   (or: python -m benchmarks.load --workflows 200 --clients 20 --expiry 15)
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import json
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import requests
from boto3.dynamodb.conditions import Attr

from local_stack.demo import text_step

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = ("00", "01", "03", "05", "06", "07", "08")
FINAL = {"completed", "error", "cancelled"}

# Messenger `read` within the expiry, then SMS, both recipients with the same suffix:
# suffix -> (workflow status, step outcomes, messages accepted by the sandbox).
EXPECTED: dict[str, tuple[str, list[str | None], int]] = {
    "00": ("completed", ["condition_met", None], 1),  # read in time: no SMS
    "01": ("completed", ["expired", "condition_met"], 2),  # never read: SMS delivered
    "03": ("error", ["rejected", "rejected"], 2),  # rejected, then the last message rejected
    "05": ("error", ["send_failed", "send_failed"], 0),  # both sends refused at once
    "06": ("completed", ["condition_met", None], 1),  # 429, retried, then read in time
    "07": ("completed", ["condition_met", None], 1),  # duplicated, out-of-order statuses incl. read
    "08": ("error", ["send_failed", "send_failed"], 0),  # both sends 500 after their retries
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


# -- the stack's processes: CPU and memory from /proc ---------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, user+sys CPU seconds, RSS bytes) of a process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS, int(fields[21]) * _PAGE


def _pss(pid: int) -> int | None:
    """Proportional set size (shared pages divided among their users), bytes."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def process_tree(root: int) -> set[int]:
    """The root and all its live descendants."""
    children = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            children[stat[0]].append(int(entry))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, []))
    return tree


class ResourceSampler:
    """Samples the stack's process tree twice a second: CPU used since `mark()`, peak memory."""

    def __init__(self, root: int, interval: float = 0.5) -> None:
        self.root = root
        self.interval = interval
        self.cpu: dict[int, float] = {}  # last seen CPU seconds per pid
        self.cpu_at_mark: dict[int, float] = {}
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ResourceSampler:
        self.sample()
        self._thread.start()
        return self

    def mark(self) -> None:
        self.sample()
        self.cpu_at_mark = dict(self.cpu)
        self.peak_rss = self.peak_pss = self.peak_processes = 0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def cpu_since_mark(self) -> tuple[float, float]:
        """(CPU seconds of the stack's main process, of all its other processes) since mark()."""
        used = {pid: seconds - self.cpu_at_mark.get(pid, 0.0) for pid, seconds in self.cpu.items()}
        main = used.get(self.root, 0.0)
        return main, sum(used.values()) - main

    def sample(self) -> None:
        rss = pss = count = 0
        for pid in process_tree(self.root):
            stat = _stat(pid)
            if stat is None:
                continue
            count += 1
            self.cpu[pid] = stat[1]
            rss += stat[2]
            pss += _pss(pid) or stat[2]
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_processes = max(self.peak_processes, count)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


# -- the stack ------------------------------------------------------------------------------------


@dataclass
class Stack:
    process: subprocess.Popen
    api_url: str
    moto_url: str
    sandbox_log: Path
    output: Path
    api_key: str = "demo"
    api_secret: str = "demo-secret"
    env: dict[str, str] = field(default_factory=dict)


def start_stack(root: Path, python: str, expiry: int, workdir: Path, extra_env: dict[str, str]) -> Stack:
    ports = {name: free_port() for name in ("LOCAL_API_PORT", "LOCAL_MOTO_PORT", "LOCAL_SANDBOX_PORT")}
    sandbox_log = workdir / "sandbox.jsonl"
    output = workdir / "stack.log"
    env = {
        **os.environ,
        **{name: str(port) for name, port in ports.items()},
        "PYTHONPATH": f"{root}{os.pathsep}{root / 'layers' / 'dispatch'}",
        "LOCAL_MIN_EXPIRY_TIME": str(min(15, expiry)),
        "LOCAL_SANDBOX_LOG": str(sandbox_log),
        "WORKFLOWS_API_KEY": "demo",
        "WORKFLOWS_API_SECRET": "demo-secret",
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    with output.open("wb") as log:
        process = subprocess.Popen(
            [python, "-m", "local_stack", "--no-demo"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C is ours; the stack gets SIGTERM from stop_stack
        )
    stack = Stack(
        process,
        f"http://127.0.0.1:{ports['LOCAL_API_PORT']}",
        f"http://127.0.0.1:{ports['LOCAL_MOTO_PORT']}",
        sandbox_log,
        output,
        env=env,
    )
    deadline = time.monotonic() + 300
    while "Serving" not in output.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the local stack did not start:\n{output.read_text(errors='replace')}")
        time.sleep(0.2)
    return stack


def stop_stack(stack: Stack, timeout: float = 60) -> tuple[float, int]:
    """SIGTERM, as Ctrl-C would; (seconds to exit, processes of the stack left behind)."""
    tree = process_tree(stack.process.pid)
    started = time.monotonic()
    stack.process.send_signal(signal.SIGTERM)
    try:
        stack.process.wait(timeout)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait()
    took = time.monotonic() - started
    time.sleep(1)
    left = [pid for pid in tree - {stack.process.pid} if _stat(pid) is not None]
    for pid in left:  # do not leave them running on a shared machine; they are counted above
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return took, len(left)


# -- the load -------------------------------------------------------------------------------------


@dataclass
class Workflow:
    index: int
    suffix: str
    body: dict[str, Any]
    started: float = 0.0
    answered: float = 0.0
    http_status: int | str = 0
    dispatch_uuid: str = ""
    problem: str = ""


def workflow_body(suffix: str, expiry: int) -> dict[str, Any]:
    unique = random.randrange(10**9, 10**10)
    return {
        "template": "failover",
        "workflow": [
            text_step(
                "messenger",
                f"42{unique}{suffix}",
                "Your order has shipped!",
                {"expiry_time": expiry, "condition_status": "read"},
            ),
            text_step("sms", f"44{unique}{suffix}", "Your order has shipped!"),
        ],
    }


def create_all(stack: Stack, workflows: list[Workflow], clients: int) -> None:
    local = threading.local()

    def create(workflow: Workflow) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.auth = (stack.api_key, stack.api_secret)
        workflow.started = time.time()
        try:
            response = local.session.post(f"{stack.api_url}/v0.1/dispatch", json=workflow.body, timeout=120)
            workflow.http_status = response.status_code
            if response.status_code == 202:
                workflow.dispatch_uuid = response.json()["dispatch_uuid"]
        except requests.RequestException as error:
            workflow.http_status = type(error).__name__
        workflow.answered = time.time()

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(create, workflows))


def workflow_table(stack: Stack) -> Any:
    return boto3.resource(
        "dynamodb",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).Table(_table_name(stack))


def scan_workflows(table: Any, projection: str | None = "pk, #status, finished_at") -> dict[str, dict]:
    """dispatch_uuid -> workflow item (its steps hold each step's status and outcome)."""
    scan: dict[str, Any] = {"FilterExpression": Attr("pk").begins_with("WORKFLOW#")}
    if projection:
        scan.update(ProjectionExpression=projection, ExpressionAttributeNames={"#status": "status"})
    items: dict[str, dict] = {}
    while True:
        page = table.scan(**scan)
        for item in page["Items"]:
            items[item["pk"].removeprefix("WORKFLOW#")] = item
        if "LastEvaluatedKey" not in page:
            return items
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def still_running(table: Any, dispatch_uuids: set[str]) -> set[str]:
    """Those of the workflows not final yet. A status read of each (BatchGetItem, 100 at a time),
    not a Scan: the stack's moto answers DynamoDB one request at a time, and a Scan of every item
    every 2 s (about 90 ms of its CPU each) held up the status webhooks being measured."""
    running = set()
    pending = sorted(dispatch_uuids)
    for start in range(0, len(pending), 100):
        request = {
            table.name: {
                "Keys": [{"pk": f"WORKFLOW#{uuid_}"} for uuid_ in pending[start : start + 100]],
                "ProjectionExpression": "pk, #status",
                "ExpressionAttributeNames": {"#status": "status"},
            }
        }
        while request:
            answer = table.meta.client.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(table.name, []):
                if item.get("status") not in FINAL:
                    running.add(item["pk"].removeprefix("WORKFLOW#"))
            request = answer.get("UnprocessedKeys") or {}
    return running


def wait_for_final(table: Any, workflows: list[Workflow], deadline: float) -> None:
    """Poll every 2 s (no load on the API) until every workflow is final."""
    running = {w.dispatch_uuid for w in workflows if w.dispatch_uuid}
    while running and time.time() < deadline:
        time.sleep(2)
        running = still_running(table, running)


def _table_name(stack: Stack) -> str:
    cloudformation = boto3.client(
        "cloudformation",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    resources = cloudformation.describe_stack_resources(StackName="workflows-api")["StackResources"]
    return next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "WorkflowsTable")


def read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- the report -----------------------------------------------------------------------------------


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def run(args: argparse.Namespace) -> int:
    root = Path(args.stack_dir).resolve()
    command = "make load" + (f" ARGS='{args.raw}'" if args.raw else "")
    workdir = Path(tempfile.mkdtemp(prefix="workflows-load-"))
    extra_env = dict(item.split("=", 1) for item in args.env)
    print(f"Starting the local stack from {root} ...", flush=True)
    stack = start_stack(root, args.python, args.expiry, workdir, extra_env)
    sampler = ResourceSampler(stack.process.pid).start()
    left_behind = -1
    try:
        workflows = [
            Workflow(i, SUFFIXES[i % len(SUFFIXES)], workflow_body(SUFFIXES[i % len(SUFFIXES)], args.expiry))
            for i in range(args.workflows)
        ]
        random.shuffle(workflows)  # suffixes interleaved in time, not in lockstep with the clients
        table = workflow_table(stack)
        if args.warmup:
            # One workflow end to end first: the numbers are of a running stack, not of its start.
            print("Warming up: one workflow (suffix 00) to its end ...", flush=True)
            warmup = Workflow(-1, "00", workflow_body("00", args.expiry))
            create_all(stack, [warmup], 1)
            if warmup.dispatch_uuid:
                wait_for_final(table, [warmup], time.time() + 2 * args.expiry + args.margin)
        print(
            f"Creating {args.workflows} workflows from {args.clients} clients "
            f"(Messenger read within {args.expiry}s -> SMS) ...",
            flush=True,
        )
        sampler.mark()
        load_started = time.time()
        create_all(stack, workflows, args.clients)
        sampler.sample()
        creating_cpu = sum(sampler.cpu_since_mark())
        created = [w for w in workflows if w.dispatch_uuid]
        last_answer = max(w.answered for w in workflows)
        deadline = last_answer + 2 * args.expiry + args.margin
        print(f"Created {len(created)}; waiting for every workflow to end ...", flush=True)
        wait_for_final(table, created, deadline)
        waited_until = time.time()
        time.sleep(max(2.0, 5 * float(extra_env.get("LOCAL_STATUS_DELAY", 0.5))))  # late webhooks land
        sampler.stop()
        items = scan_workflows(table, projection=None)
        # Only the load's own sends and statuses (not the warm-up's).
        events = [
            e for e in read_events(stack.sandbox_log) if e.get("t", e.get("posted_at", 0)) >= load_started
        ]
    finally:
        if not sampler._stop.is_set():
            sampler.stop()
        stop_took, left_behind = stop_stack(stack)

    # throughput and latency of creates
    latencies = [w.answered - w.started for w in workflows if w.http_status == 202]
    create_span = last_answer - min(w.started for w in workflows)
    non_202 = collections.Counter(str(w.http_status) for w in workflows if w.http_status != 202)

    # correctness
    accepted = collections.Counter(
        e["client_ref"] for e in events if e["event"] == "send" and e["http_status"] == 202
    )
    duplicates = sum(count - 1 for count in accepted.values() if count > 1)
    sent_per_workflow = collections.Counter(ref.rsplit(":", 1)[0] for ref in accepted.elements())
    wrong, stuck, late = [], [], []
    # Seconds each workflow ended after 2 * expiry from its create (its rules need at most one
    # expiry and a final SMS status): late beyond --margin.
    lateness: list[float] = []
    for w in created:
        status, outcomes, sent = EXPECTED[w.suffix]
        item = items.get(w.dispatch_uuid, {})
        if item.get("status") not in FINAL:  # still in progress when the waiting ended
            stuck.append(w)
            continue
        due = w.answered + 2 * args.expiry
        if item.get("finished_at"):
            lateness.append(max(0.0, _epoch(item["finished_at"]) - due))
            if lateness[-1] > args.margin:
                late.append(w)
        got_outcomes = [step.get("outcome") for step in item.get("steps", [])]
        got = (item.get("status"), got_outcomes, sent_per_workflow[w.dispatch_uuid])
        if got != (status, outcomes, sent):
            w.problem = f"suffix {w.suffix}: expected {(status, outcomes, sent)}, got {got}"
            wrong.append(w)

    # status webhooks: from the sandbox's first POST to the 2xx that says it is stored
    statuses = [e for e in events if e["event"] == "status"]
    lags = [e["answered_at"] - e["posted_at"] for e in statuses if (e["http_status"] or 0) // 100 == 2]
    unstored = [e for e in statuses if (e["http_status"] or 0) // 100 != 2]

    finished_times = [_epoch(i["finished_at"]) for i in items.values() if i.get("finished_at")]
    all_final = (max(finished_times) - load_started) if finished_times and not stuck else float("nan")
    main_cpu, other_cpu = sampler.cpu_since_mark()
    busy = waited_until - load_started

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f} ms"

    p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
    cpu = main_cpu + other_cpu
    non_202_text = f"{sum(non_202.values())}" + (f" {dict(non_202)}" if non_202 else "")
    print()
    print(f"Command: {command}")
    print(
        f"  ({args.workflows} workflows, {args.clients} clients, Messenger read within {args.expiry}s"
        f" -> SMS, suffixes {' '.join(SUFFIXES)}; stack from {root}; {os.cpu_count()} CPUs)"
    )
    print()
    print(
        "| creates/s | create p50 / p95 / p99 | webhook lag p50 / p99 | all final after | "
        "stack CPU user+sys (main + others) | cores busy (while creating) | peak RSS / PSS | processes |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(created) / create_span:.2f} | {p50:.2f} / {p95:.2f} / {p99:.2f} s "
        f"| {ms(percentile(lags, 50))} / {ms(percentile(lags, 99))} | {all_final:.1f} s "
        f"| {cpu:.1f} s ({main_cpu:.1f} + {other_cpu:.1f}) "
        f"| {cpu / busy:.2f} ({creating_cpu / create_span:.2f}) "
        f"| {sampler.peak_rss / 2**20:.0f} / {sampler.peak_pss / 2**20:.0f} MB | {sampler.peak_processes} |"
    )
    print()
    print(
        "| workflows | non-202 creates | wrong outcomes | duplicate sends | stuck | statuses not stored "
        "| late | lateness p99 / max |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.workflows} | {non_202_text} | {len(wrong)} of {len(created)} | {duplicates} "
        f"| {len(stuck)} | {len(unstored)} of {len(statuses)} | {len(late)} "
        f"| {percentile(lateness, 99):.1f} / {max(lateness, default=0.0):.1f} s |"
    )
    by_suffix = collections.Counter(w.suffix for w in wrong)
    if wrong:
        print(f"\nWrong outcomes by suffix: {dict(sorted(by_suffix.items()))}")
        for w in wrong[: args.show]:
            print(f"  {w.dispatch_uuid} {w.problem}")
    if stuck:
        print(f"\nStuck (still in progress {busy:.0f}s after the first create): {len(stuck)}")
        for w in stuck[: args.show]:
            print(f"  {w.dispatch_uuid} suffix {w.suffix}: {items.get(w.dispatch_uuid, {}).get('status')}")
    if late:
        print(f"\nEnded more than 2*expiry+{args.margin}s after their create (late): {len(late)}")
        for w in late[: args.show]:
            print(f"  {w.dispatch_uuid} suffix {w.suffix}")
    print(
        f"\nStack stopped in {stop_took:.1f}s (SIGTERM); processes of it left running: {left_behind}."
        f" Creates took {create_span:.1f}s; waited until {busy:.1f}s. Files: {workdir}"
    )
    failed = wrong or stuck or non_202 or duplicates or left_behind
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--expiry", type=int, default=15, help="the Messenger step's expiry_time (seconds)")
    parser.add_argument(
        "--margin",
        type=int,
        default=30,
        help="the wait for all workflows ends 2*expiry+margin s after the last create (still in progress "
        "then: stuck); a workflow ending more than 2*expiry+margin s after its own create is late",
    )
    parser.add_argument("--stack-dir", default=str(ROOT), help="the checkout whose local stack runs")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs the stack")
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the stack (repeatable)")
    parser.add_argument("--show", type=int, default=10, help="how many wrong or stuck workflows to list")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false", help="measure from a cold start")
    args = parser.parse_args(argv)
    args.raw = shlex.join(argv if argv is not None else sys.argv[1:])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
