"""EventBridge's "Step Functions Execution Status Change" events, emulated: moto's Step Functions
emits no events. Executions that ended are polled here, and each is announced once, as AWS would
put it on the default event bus, to the targets of every deployed rule whose pattern matches it
(rules and targets as the template created them in moto). A Lambda target is invoked the way
EventBridge invokes one, asynchronously: a function error is retried twice, a second apart."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from moto.events.models import EventPattern

DETAIL_TYPE = "Step Functions Execution Status Change"
ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
ATTEMPTS = 3  # Lambda's asynchronous invocation: the first try and two retries

Invoke = Callable[[str, dict[str, Any]], tuple[Any, bool]]  # (function ARN, event) -> (result, failed)


def _millis(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def status_change_event(execution: dict[str, Any], *, account: str, region: str) -> dict[str, Any]:
    """The event Step Functions puts on the default bus when an execution changes status."""
    stopped = execution.get("stopDate")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws.states",
        "account": account,
        "time": (stopped or execution["startDate"]).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [execution["executionArn"]],
        "detail": {
            "executionArn": execution["executionArn"],
            "stateMachineArn": execution["stateMachineArn"],
            "name": execution["name"],
            "status": execution["status"],
            "startDate": _millis(execution["startDate"]),
            "stopDate": _millis(stopped),
            "input": execution.get("input"),
            "output": execution.get("output"),
            "inputDetails": {"included": True},
            "outputDetails": {"included": True} if "output" in execution else None,
            "error": execution.get("error"),
            "cause": execution.get("cause"),
        },
    }


class ExecutionStatusEvents:
    # EventBridge delivers within seconds; each round is four requests to moto, whose one process
    # every function's AWS call also needs, so once a second.
    def __init__(self, session: Any, *, invoke: Invoke, interval: float = 1.0) -> None:
        self._stepfunctions = session.client("stepfunctions")
        self._events = session.client("events")
        self._region = session.region_name
        self._invoke = invoke
        self._interval = interval
        self._announced: set[str] = set()
        self._rules: list[tuple[dict[str, Any], EventPattern, list[str]]] = []
        self._statuses: tuple[str, ...] = ()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="execution-status-events")
        self.delivered: list[dict[str, Any]] = []  # (for tests) every event a target received

    def start(self) -> None:
        self._rules = self._load_rules()
        self._statuses = self._statuses_wanted()
        if self._rules:
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _load_rules(self) -> list[tuple[dict[str, Any], EventPattern, list[str]]]:
        rules = []
        for rule in self._events.list_rules().get("Rules", []):
            pattern = json.loads(rule.get("EventPattern") or "{}")
            if DETAIL_TYPE not in pattern.get("detail-type", []) or rule.get("State") == "DISABLED":
                continue
            targets = self._events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])
            rules.append((pattern, EventPattern.load(json.dumps(pattern)), [t["Arn"] for t in targets]))
        return rules

    def _statuses_wanted(self) -> tuple[str, ...]:
        """Only the statuses some rule can match: the others need not be polled."""
        wanted: set[str] = set()
        for pattern, _, _ in self._rules:
            statuses = (pattern.get("detail") or {}).get("status")
            wanted |= set(statuses) if isinstance(statuses, list) else set(ENDED)
        return tuple(status for status in ENDED if status in wanted)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self._poll_once()
            except Exception:  # keep polling, whatever one round met (moto busy, a stack stopping)
                time.sleep(self._interval)

    def _poll_once(self) -> None:
        machines = self._stepfunctions.list_state_machines()["stateMachines"]
        for machine in machines:
            for status in self._statuses:
                pages = self._stepfunctions.get_paginator("list_executions").paginate(
                    stateMachineArn=machine["stateMachineArn"], statusFilter=status
                )
                for page in pages:
                    for summary in page["executions"]:
                        if summary["executionArn"] not in self._announced:
                            self._announce(summary["executionArn"])

    def _announce(self, execution_arn: str) -> None:
        self._announced.add(execution_arn)
        execution = self._stepfunctions.describe_execution(executionArn=execution_arn)
        account = execution_arn.split(":")[4]
        event = status_change_event(execution, account=account, region=self._region)
        for _, matcher, targets in self._rules:
            if matcher.matches_event(event):
                for target in targets:
                    self._deliver(target, event)

    def _deliver(self, target: str, event: dict[str, Any]) -> None:
        for attempt in range(ATTEMPTS):
            if attempt and self._stopped.wait(1.0):
                return
            _, failed = self._invoke(target, event)
            if not failed:
                self.delivered.append(event)
                return
