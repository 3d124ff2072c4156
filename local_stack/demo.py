"""The canonical Workflows API example, live: a Facebook Messenger message that must be read,
failing over to an SMS. The Messenger recipient is the sandbox's `...01` (delivered, never
read), so the workflow waits out the expiry, fails over, and the SMS is delivered."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import requests

from dispatch.api.examples import example_workflow


def text_step(channel: str, to: str, text: str, failover: dict[str, Any] | None = None) -> dict[str, Any]:
    """One Dispatch v0.1 workflow step with a text message (Messenger addresses by id, others by number)."""
    by = "id" if channel == "messenger" else "number"
    sender = "DEMO_PAGE_ID" if channel == "messenger" else "447700900000"
    step: dict[str, Any] = {
        "from": {"type": channel, by: sender},
        "to": {"type": channel, by: to},
        "message": {"content": {"type": "text", "text": text}},
    }
    if failover:
        step["failover"] = failover
    return step


def canonical_request(expiry_time: int) -> dict[str, Any]:
    """The project's example body (dispatch/api/example_workflow.json): Messenger first, to the
    sandbox's `...01` that never reads, condition `read` within `expiry_time`; then SMS to `...23`."""
    body = example_workflow()
    body["workflow"][0]["failover"]["expiry_time"] = expiry_time
    return body


class Timeline:
    """Prints each change of the workflow once, and a progress bar while a step waits."""

    def __init__(self, out: TextIO, started: float) -> None:
        self._out = out
        self._started = started
        self._seen: set[tuple] = set()
        self._bar_shown = False
        self._live = out.isatty()

    def event(self, key: tuple, text: str) -> None:
        if key in self._seen:
            return
        self._seen.add(key)
        self._end_bar()
        self._out.write(f"[{time.monotonic() - self._started:5.1f}s] {text}\n")
        self._out.flush()

    def waiting(self, step: dict[str, Any], expiry_time: int, elapsed: float) -> None:
        remaining = max(0.0, expiry_time - elapsed)
        width = 30
        done = int(width * min(1.0, elapsed / expiry_time))
        progress = "#" * done + "." * (width - done)
        bar = f"waiting for '{step['condition_status']}' [{progress}] {remaining:4.1f}s left"
        if self._live:
            self._out.write(f"\r         {bar}")
            self._bar_shown = True
        else:  # a log, not a terminal: one line every 5 s of waiting
            self.event(("wait", step["index"], int(elapsed) // 5), bar)
        self._out.flush()

    def _end_bar(self) -> None:
        if self._bar_shown:
            self._out.write("\n")
            self._bar_shown = False


def run_demo(
    api_url: str,
    api_key: str,
    api_secret: str,
    *,
    expiry_time: int = 15,
    timeout: float = 55.0,
    out: TextIO = sys.stdout,
    describe_execution: Callable[[str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Submit the canonical workflow and follow it until it ends; return its final state.
    With `describe_execution` (Step Functions' DescribeExecution for a dispatch_uuid), the
    timeline also shows when the workflow's execution ended."""
    session = requests.Session()
    session.auth = (api_key, api_secret)
    started = time.monotonic()
    timeline = Timeline(out, started)
    out.write(
        f"Demo: Messenger (condition 'read' within {expiry_time}s) failing over to SMS.\n"
        f"  Messenger recipient ...01 never reads; SMS recipient ...23 gets it.\n"
    )
    response = session.post(f"{api_url}/v0.1/dispatch", json=canonical_request(expiry_time), timeout=10)
    response.raise_for_status()
    dispatch_uuid = response.json()["dispatch_uuid"]
    timeline.event(("created",), f"POST /v0.1/dispatch -> 202, dispatch_uuid {dispatch_uuid}")

    while time.monotonic() - started < timeout:
        workflow = session.get(f"{api_url}/v0.1/workflows/{dispatch_uuid}", timeout=10).json()
        for step in workflow["workflow"]:
            _show_step(timeline, step, expiry_time)
        if workflow["status"] != "in_progress":
            timeline.event(
                ("done",), f"workflow {workflow['status'].upper()} in {time.monotonic() - started:.1f}s"
            )
            if describe_execution is not None:
                _show_execution_end(timeline, workflow, describe_execution)
            return workflow
        time.sleep(0.2)
    raise TimeoutError(f"workflow {dispatch_uuid} still in progress after {timeout}s")


def _show_execution_end(
    timeline: Timeline, workflow: dict[str, Any], describe_execution: Callable[[str], dict[str, Any]]
) -> None:
    """The execution ends with its workflow: say when, measured from the workflow's end."""
    deadline = time.monotonic() + 10
    execution = describe_execution(workflow["dispatch_uuid"])
    while execution["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
        execution = describe_execution(workflow["dispatch_uuid"])
    if execution["status"] == "RUNNING":
        timeline.event(("execution",), "execution still RUNNING 10 s after the workflow ended")
        return
    lag = execution["stopDate"].timestamp() - _epoch(workflow["finished_at"])
    timeline.event(
        ("execution",),
        f"execution {execution['status']} {lag:.1f} s after the workflow {workflow['status']}",
    )


def _show_step(timeline: Timeline, step: dict[str, Any], expiry_time: int) -> None:
    index, channel = step["index"], step["channel"]
    if step.get("message_uuid"):
        timeline.event(
            (index, "sent"), f"step {index}: {channel} message sent, message_uuid {step['message_uuid']}"
        )
    if step.get("status"):
        timeline.event((index, step["status"]), f"step {index}: {channel} status '{step['status']}'")
    if step.get("outcome"):
        verb = "condition met" if step["outcome"] == "condition_met" else f"outcome '{step['outcome']}'"
        then = (
            " -> failing over to the next message"
            if step.get("condition_status") and verb != "condition met"
            else ""
        )
        timeline.event((index, "outcome"), f"step {index}: {channel} {verb}{then}")
    elif step.get("condition_status") and step.get("sent_at"):
        elapsed = time.time() - _epoch(step["sent_at"])
        timeline.waiting(step, expiry_time, elapsed)


def _epoch(iso_timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso_timestamp.replace("Z", "+00:00")).timestamp()
