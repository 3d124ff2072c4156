"""`python -m local_stack`: start the local stack, run the demo, keep serving until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading

from local_stack.demo import canonical_request, run_demo
from local_stack.stack import LocalStack, LocalStackSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
    parser.add_argument("--no-demo", action="store_true", help="start the stack without running the demo")
    parser.add_argument("--exit-after-demo", action="store_true", help="stop once the demo has finished")
    parser.add_argument(
        "--demo-expiry", type=int, default=15, help="the demo's Messenger expiry_time (seconds)"
    )
    args = parser.parse_args(argv)

    settings = LocalStackSettings()
    settings.min_expiry_time = min(settings.min_expiry_time, args.demo_expiry)
    print("Starting the local stack (moto + template.yaml + sandbox Messages API)...", flush=True)
    stack = LocalStack(settings).start()
    print(stack.banner(), flush=True)
    print(curl_example(stack), flush=True)

    status = 0
    if not args.no_demo:
        print(flush=True)
        stepfunctions = stack.client("stepfunctions")
        executions = stack.state_machine_arn.replace(":stateMachine:", ":execution:")
        workflow = run_demo(
            stack.api_url,
            settings.api_key,
            settings.api_secret,
            expiry_time=args.demo_expiry,
            describe_execution=lambda uuid_: stepfunctions.describe_execution(
                executionArn=f"{executions}:{uuid_}"
            ),
        )
        print(execution_summary(stack, workflow["dispatch_uuid"]), flush=True)
        status = 0 if workflow["status"] == "completed" else 1
    if args.exit_after_demo:
        stack.stop()
        return status

    print("\nServing; press Ctrl-C to stop.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    stack.stop()
    return status


def curl_example(stack: LocalStack) -> str:
    s = stack.settings
    return (
        "\nTry it:\n"
        f"  curl -s -u {s.api_key}:{s.api_secret} -H 'Content-Type: application/json' \\\n"
        f"    {stack.api_url}/v0.1/dispatch -d '{json.dumps(canonical_request(expiry_time=15))}'\n"
        f"  curl -s -u {s.api_key}:{s.api_secret} {stack.api_url}/v0.1/workflows/<dispatch_uuid>"
    )


def execution_summary(stack: LocalStack, dispatch_uuid: str) -> str:
    """The states the execution went through, read from its Step Functions history."""
    stepfunctions = stack.client("stepfunctions")
    arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{dispatch_uuid}"
    events = stepfunctions.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    states = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    status = stepfunctions.describe_execution(executionArn=arn)["status"]
    return (
        f"Step Functions execution {dispatch_uuid} ({status}, {len(states)} state transitions):\n  "
        + " -> ".join(states)
    )


if __name__ == "__main__":
    sys.exit(main())
