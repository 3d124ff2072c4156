"""What one workflow costs, counted on the local stack (deterministic, not timed):
state transitions, DynamoDB reads and writes (the state machine's native tasks included), Lambda
invocations, and the Messages API calls. Also the wall time of the whole run, for reference.

Run: make bench   (or: PYTHONPATH=.:layers/dispatch .venv/bin/python -m benchmarks.workflow_cost)
"""

from __future__ import annotations

import collections
import functools
import time

import requests
from moto.dynamodb.responses import DynamoHandler

from local_stack.demo import text_step
from local_stack.stack import LocalStack, LocalStackSettings

READS = ("get_item", "query", "scan", "batch_get_item")
WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def count_dynamodb_calls() -> collections.Counter:
    """Count DynamoDB operations server-side in moto, whoever calls them (Lambda or ASL task).
    Conditional writes that fail still count: DynamoDB bills them too."""
    calls: collections.Counter = collections.Counter()
    for name in READS + WRITES:
        original = getattr(DynamoHandler, name)

        @functools.wraps(original)
        def counted(self, _original=original, _name=name):
            calls[_name] += 1
            return _original(self)

        setattr(DynamoHandler, name, counted)
    return calls


def run(scenarios: dict[str, list[dict]]) -> None:
    calls = count_dynamodb_calls()
    settings = LocalStackSettings(
        api_port=0, moto_port=0, sandbox_port=0, min_expiry_time=1, final_status_timeout=2, status_delay=0.05
    )
    stack = LocalStack(settings).start()
    api = requests.Session()
    api.auth = (settings.api_key, settings.api_secret)
    stepfunctions = stack.client("stepfunctions")
    try:
        for name, workflow in scenarios.items():
            calls.clear()
            stack.runtime.invocations.clear()
            sent_before, attempts_before = len(stack.sandbox.sent), len(stack.sandbox.attempts)
            started = time.perf_counter()
            dispatch_uuid = api.post(
                f"{stack.api_url}/v0.1/dispatch", json={"template": "failover", "workflow": workflow}
            ).json()["dispatch_uuid"]
            arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{dispatch_uuid}"
            while stepfunctions.describe_execution(executionArn=arn)["status"] == "RUNNING":
                time.sleep(0.05)
            time.sleep(0.5)  # let late status webhooks land
            elapsed = time.perf_counter() - started
            history = stepfunctions.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            transitions = sum(1 for e in history if e["type"].endswith("StateEntered"))
            workflow_status = api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").json()["status"]
            lambdas = collections.Counter(i["function"] for i in stack.runtime.invocations)
            print(f"\n{name}  (workflow {workflow_status}, {elapsed:.1f}s wall incl. waits)")
            print(f"  state transitions:      {transitions}  (history events: {len(history)})")
            print(f"  DynamoDB reads:         {sum(calls[op] for op in READS)}  {_only(calls, READS)}")
            print(f"  DynamoDB writes:        {sum(calls[op] for op in WRITES)}  {_only(calls, WRITES)}")
            print(f"  Lambda invocations:     {sum(lambdas.values())}  {dict(lambdas)}")
            print(
                f"  Messages API:           {len(stack.sandbox.attempts) - attempts_before} calls, "
                f"{len(stack.sandbox.sent) - sent_before} messages accepted"
            )
    finally:
        stack.stop()


def _only(calls: collections.Counter, operations: tuple[str, ...]) -> dict:
    return {op: calls[op] for op in operations if calls[op]}


if __name__ == "__main__":
    print("Cost of one two-step workflow (Messenger, condition read within 2 s -> SMS), on the local stack.")
    print("Command: make bench")
    run(
        {
            "Messenger never read (...01), fails over, SMS delivered": [
                text_step(
                    "messenger", "4200000000000001", "hello", {"expiry_time": 2, "condition_status": "read"}
                ),
                text_step("sms", "447700900123", "hello"),
            ],
            "Messenger read in time (...55), no SMS": [
                text_step(
                    "messenger", "4200000000000055", "hello", {"expiry_time": 2, "condition_status": "read"}
                ),
                text_step("sms", "447700900123", "hello"),
            ],
        }
    )
