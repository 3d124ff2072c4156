"""What one workflow costs, counted on the local stack (deterministic counts, not timings):
state transitions, DynamoDB reads and writes (the state machine's own tasks included) and which
of them also write the listing index, Lambda invocations, Step Functions callbacks (the webhook
waking an execution), Messages API calls; and how long the execution stays open, and how long
after its workflow it ends. Wall times are printed for reference only.

Statuses come as on AWS, after the execution began waiting for them: the sandbox holds each
recipient's statuses until the step's task token is stored (a design without one just waits).

Run: make bench   (or: PYTHONPATH=.:layers/dispatch .venv/bin/python -m benchmarks.workflow_cost)
`benchmarks.capacity` turns these counts into throughput limits and costs.
"""

from __future__ import annotations

import collections
import functools
import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from moto.dynamodb.responses import DynamoHandler
from moto.stepfunctions.responses import StepFunctionResponse

from local_stack.demo import text_step
from local_stack.stack import LocalStack, LocalStackSettings

READS = ("get_item", "query", "scan", "batch_get_item")
WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
# What the listing index (gsi1) holds of a workflow: a write changing any of it writes the index too.
INDEXED = {"account_id", "dispatch_uuid", "template", "status", "current_step", "created_at", "updated_at"}
INDEXED |= {"finished_at", "api_key", "application_id", "name", "gsi1pk", "gsi1sk"}
ROOT = Path(__file__).resolve().parent.parent
BENCH_CREDENTIAL = "Credential=bench-reader/"
TOKEN_DESIGN = "waitForTaskToken" in (ROOT / "statemachine" / "workflow.asl.json").read_text()


@dataclass
class Counters:
    dynamodb: collections.Counter = field(default_factory=collections.Counter)
    index_writes: int = 0
    rings: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.dynamodb.clear()
            self.index_writes = self.rings = 0


@dataclass
class Measurement:
    """One workflow's counts, as `benchmarks.capacity` reads them."""

    name: str
    workflow_status: str
    outcomes: list
    transitions: int
    history_events: int
    dynamodb_reads: int
    dynamodb_writes: int
    index_writes: int
    item_bytes: int
    lambda_invocations: dict
    rings: int
    messages_api_calls: int
    status_webhooks: int
    execution_seconds: float
    execution_after_workflow: float
    next_sent_after_outcome: float | None  # a step that failed over: its outcome -> the next send
    wall_seconds: float


def _top_level_names(expression: str, names: dict[str, str]) -> set[str]:
    """The top-level attributes an UpdateExpression sets or removes."""
    found = set()
    for clause in re.split(r"\b(?=SET |REMOVE |ADD |DELETE )", expression):
        action, _, body = clause.strip().partition(" ")
        depth, part, parts = 0, "", []
        for char in body:
            depth += char == "("
            depth -= char == ")"
            if char == "," and depth == 0:
                parts.append(part)
                part = ""
            else:
                part += char
        parts.append(part)
        for target in parts:
            path = target.split("=")[0].strip() if action == "SET" else target.strip().split(" ")[0]
            name = re.split(r"[.\[]", path)[0]
            found.add(names.get(name, name))
    return found


def count_calls(counters: Counters) -> None:
    """Count DynamoDB operations server-side in moto, whoever calls them (Lambda or ASL task), and
    SendTaskFailure calls. Conditional writes that fail still count: DynamoDB bills them too."""
    for name in READS + WRITES:
        original = getattr(DynamoHandler, name)

        @functools.wraps(original)
        def counted(handler, _original=original, _name=name):
            if BENCH_CREDENTIAL in str(handler.headers.get("Authorization", "")):
                return _original(handler)  # this script looking, not the workflow working
            with counters.lock:
                counters.dynamodb[_name] += 1
            result = _original(handler)  # raises when a condition fails: no index write then
            body = handler.body
            indexed = _name == "put_item" and "gsi1pk" in body.get("Item", {})
            if _name == "update_item":
                names = body.get("ExpressionAttributeNames") or {}
                indexed = bool(_top_level_names(body.get("UpdateExpression", ""), names) & INDEXED)
            if indexed:
                with counters.lock:
                    counters.index_writes += 1
            return result

        setattr(DynamoHandler, name, counted)
    original_ring = StepFunctionResponse.send_task_failure

    @functools.wraps(original_ring)
    def counted_ring(handler):
        with counters.lock:
            counters.rings += 1
        return original_ring(handler)

    StepFunctionResponse.send_task_failure = counted_ring


def item_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of an item in its typed JSON form (names + values, as it bills them)."""

    def size(typed: dict[str, Any]) -> int:
        ((kind, inner),) = typed.items()
        if kind in ("S", "B"):
            return len(inner.encode()) if isinstance(inner, str) else len(inner)
        if kind == "N":
            return math.ceil(len(inner.lstrip("-").replace(".", "").lstrip("0") or "0") / 2) + 1
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "L":
            return 3 + sum(1 + size(element) for element in inner)
        if kind == "M":
            return 3 + sum(1 + len(key.encode()) + size(element) for key, element in inner.items())
        return len(str(inner))

    return sum(len(name.encode()) + size(typed) for name, typed in value.items())


def _moment(iso_timestamp: str) -> datetime:
    return datetime.fromisoformat(iso_timestamp.replace("Z", "+00:00"))


def _seconds(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds()


class Bench:
    def __init__(self) -> None:
        self.counters = Counters()
        count_calls(self.counters)
        settings = LocalStackSettings(
            api_port=0,
            moto_port=0,
            sandbox_port=0,
            min_expiry_time=1,
            final_status_timeout=10,
            status_delay=0.05,
        )
        self.stack = LocalStack(settings).start()
        self.api = requests.Session()
        self.api.auth = (settings.api_key, settings.api_secret)
        self.stepfunctions = self.stack.client("stepfunctions")
        # Its own reads sign with another key, so that they are not counted as the workflow's.
        self.dynamodb = self.stack.session().client(
            "dynamodb", aws_access_key_id="bench-reader", aws_secret_access_key="bench-reader"
        )

    def stop(self) -> None:
        self.stack.stop()

    def _item(self, dispatch_uuid: str) -> dict[str, Any] | None:
        return self.dynamodb.get_item(
            TableName=self.stack.table_name,
            Key={"pk": {"S": f"WORKFLOW#{dispatch_uuid}"}},
            ConsistentRead=True,
        ).get("Item")

    def _release_when_waiting(self, gates: dict[int, tuple[str, threading.Event]], get_uuid) -> None:
        """Let each held recipient's statuses go once the execution waits on its step."""
        deadline = time.monotonic() + 60
        pending = dict(gates)
        while pending and time.monotonic() < deadline:
            dispatch_uuid = get_uuid()
            item = self._item(dispatch_uuid) if dispatch_uuid else None
            if item and "task_token_step" in item:
                gate = pending.pop(int(item["task_token_step"]["N"]), None)
                if gate:
                    gate[1].set()
            time.sleep(0.02)
        for _, gate in pending.values():
            gate.set()

    def measure(self, name: str, steps: list[dict[str, Any]]) -> Measurement:
        stack, counters = self.stack, self.counters
        counters.clear()
        stack.runtime.invocations.clear()
        attempts_before = len(stack.sandbox.attempts)
        deliveries_before = len(stack.sandbox.deliveries)
        gates = {}
        if TOKEN_DESIGN:
            for index, step in enumerate(steps):
                to = step["to"].get("number") or step["to"].get("id")
                gates[index] = (to, stack.sandbox.hold_statuses(to))
        started = time.perf_counter()
        box: list[str] = []
        releaser = threading.Thread(
            target=self._release_when_waiting, args=(gates, lambda: box[0] if box else None)
        )
        releaser.start()
        response = self.api.post(
            f"{stack.api_url}/v0.1/dispatch", json={"template": "failover", "workflow": steps}
        )
        box.append(response.json()["dispatch_uuid"])
        dispatch_uuid = box[0]
        arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{dispatch_uuid}"
        while (execution := self.stepfunctions.describe_execution(executionArn=arn))["status"] == "RUNNING":
            time.sleep(0.05)
        for _, gate in gates.values():
            gate.set()
        releaser.join()
        time.sleep(0.5)  # let late status webhooks land
        wall = time.perf_counter() - started
        # Counted before this script's own reads below.
        calls = collections.Counter(counters.dynamodb)
        index_writes, rings = counters.index_writes, counters.rings
        lambdas = collections.Counter(i["function"] for i in stack.runtime.invocations)
        history = self.stepfunctions.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        item = self._item(dispatch_uuid)
        workflow = self.api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").json()
        finished = _moment(workflow["finished_at"])
        steps = workflow["workflow"]
        failed_over = steps[0].get("outcome") not in (None, "condition_met") and steps[1].get("sent_at")
        return Measurement(
            name=name,
            workflow_status=workflow["status"],
            outcomes=[s.get("outcome") for s in workflow["workflow"]],
            transitions=sum(1 for e in history if e["type"].endswith("StateEntered")),
            history_events=len(history),
            dynamodb_reads=sum(calls[op] for op in READS),
            dynamodb_writes=sum(calls[op] for op in WRITES),
            index_writes=index_writes,
            item_bytes=item_size(item) if item else 0,
            lambda_invocations=dict(lambdas),
            rings=rings,
            messages_api_calls=len(stack.sandbox.attempts) - attempts_before,
            status_webhooks=len(stack.sandbox.deliveries) - deliveries_before,
            execution_seconds=_seconds(execution["startDate"], execution["stopDate"]),
            execution_after_workflow=_seconds(finished, execution["stopDate"]),
            next_sent_after_outcome=(
                _seconds(_moment(steps[0]["outcome_at"]), _moment(steps[1]["sent_at"]))
                if failed_over
                else None
            ),
            wall_seconds=wall,
        )


def canonical(messenger: str, *, expiry: int, sms: str = "447700900123") -> list[dict[str, Any]]:
    """Messenger (condition read within `expiry`) -> SMS, the API's canonical example."""
    return [
        text_step("messenger", messenger, "hello", {"expiry_time": expiry, "condition_status": "read"}),
        text_step("sms", sms, "hello"),
    ]


SCENARIOS = {
    "fails over": (
        "Messenger never read (...01), fails over after 2 s, SMS delivered",
        "4200000000000001",
        2,
    ),
    "read in time": ("Messenger read in time (...55), no SMS", "4200000000000055", 2),
    "rejected": (
        "Messenger rejected (...03, expiry 10 s), fails over at once, SMS delivered",
        "4200000000000003",
        10,
    ),
}


def run(names: list[str] | None = None, *, quiet: bool = False) -> dict[str, Measurement]:
    bench = Bench()
    results = {}
    try:
        for key, (title, messenger, expiry) in SCENARIOS.items():
            if names is None or key in names:
                results[key] = bench.measure(title, canonical(messenger, expiry=expiry))
                if not quiet:
                    show(results[key])
    finally:
        bench.stop()
    return results


def show(m: Measurement) -> None:
    lambdas = sum(m.lambda_invocations.values())
    print(f"\n{m.name}  (workflow {m.workflow_status} {m.outcomes}, {m.wall_seconds:.1f}s wall incl. waits)")
    print(f"  state transitions:      {m.transitions}  (history events: {m.history_events})")
    print(f"  DynamoDB reads:         {m.dynamodb_reads}")
    print(
        f"  DynamoDB writes:        {m.dynamodb_writes}  (also writing the listing index: {m.index_writes})"
    )
    units = math.ceil(m.item_bytes / 1024)
    print(f"  workflow item size:     {m.item_bytes} bytes ({units} write unit(s) per write)")
    print(f"  Lambda invocations:     {lambdas}  {m.lambda_invocations}")
    print(f"  executions woken:       {m.rings}  (SendTaskFailure)")
    print(f"  Messages API:           {m.messages_api_calls} calls; {m.status_webhooks} status webhooks")
    print(
        f"  execution open:         {m.execution_seconds:.1f} s; "
        f"ended {m.execution_after_workflow:.1f} s after its workflow"
    )
    if m.next_sent_after_outcome is not None:
        print(
            f"  fail-over:              next message sent {m.next_sent_after_outcome:.1f} s "
            "after the step's outcome"
        )


if __name__ == "__main__":
    print("Cost of one two-step workflow (Messenger, condition read -> SMS), on the local stack.")
    print("Command: make bench")
    run()
