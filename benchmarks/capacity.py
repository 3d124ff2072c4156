"""Capacity and cost model (`make capacity`; a script, not a test).

From the per-workflow counts `make bench` measures on the local stack (state transitions, Lambda
invocations, DynamoDB reads and writes, executions woken) and AWS's published default quotas and
prices, it prints for the design before executions ended with their workflow and for the current
one: the sustained workflows/s each quota allows, which quota binds, and the cost per million
workflows by service. Durations the local stack cannot measure (how long an execution stays
open on AWS, how long a Lambda runs there) come from the stated assumptions below.

Run: make capacity                 (counts recorded from `make bench`, listed in MEASURED)
     make capacity ARGS=--measure    (re-measure the current design on the local stack first)
     make capacity ARGS=--callbacks  (workflows with a callback URL)
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace

# -- AWS default quotas, large regions (us-east-1, us-west-2, eu-west-1) --------------------------
# Step Functions Standard, docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
# (read 2026-11): 1,000,000 open executions per account and region; StartExecution bucket 1,300,
# refill 300/s; StateTransition bucket 5,000, refill 5,000/s; SendTaskFailure bucket 3,000,
# refill 500/s (all other regions: StartExecution 150/s, StateTransition 800/s, SendTask* 300/s).
OPEN_EXECUTIONS = 1_000_000
START_EXECUTION_PER_S = 300
STATE_TRANSITIONS_PER_S = 5_000
SEND_TASK_FAILURE_PER_S = 500
# Lambda: 1,000 concurrent executions per account and region (default, raisable).
LAMBDA_CONCURRENCY = 1_000
# API Gateway: 10,000 requests/s per account and region across HTTP APIs (default).
API_REQUESTS_PER_S = 10_000
# DynamoDB on-demand, docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
# (read 2026-11): 40,000 read and 40,000 write request units/s per table; any one partition,
# of the table or of an index, takes 3,000 RCU and 1,000 WCU per second.
TABLE_WRITE_UNITS_PER_S = 40_000
TABLE_READ_UNITS_PER_S = 40_000
PARTITION_WRITE_UNITS_PER_S = 1_000
# SQS FIFO without high-throughput mode (this template's callback queue): 300 SendMessage/s per queue.
FIFO_SENDS_PER_S = 300
# This template's own defaults (parameters): ApiThrottlingRateLimit, per route, all accounts.
ROUTE_RATE_LIMIT = 100

# -- Prices, us-east-1, on-demand, per unit (read 2026-11; the providers' pricing pages) ----------
STEP_FUNCTIONS_PER_TRANSITION = 0.025 / 1_000  # Standard workflows
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334  # first 7.5 billion GB-s a month
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1_000_000  # on-demand, since the November 2024 price cut
DYNAMODB_PER_READ_UNIT = 0.125 / 1_000_000
SQS_FIFO_PER_REQUEST = 0.50 / 1_000_000
HTTP_API_PER_REQUEST = 1.00 / 1_000_000  # first 300 million a month
CLOUDWATCH_LOGS_PER_GB = 0.50  # ingestion; the state machine logs every history event (Level ALL)

# -- Assumptions (what the local stack cannot tell) -------------------------------------------------
EXPIRY_SECONDS = 600  # the sample workflow's Messenger expiry_time (events/create_workflow.json)
FINAL_STATUS_TIMEOUT = 86_400  # template default FinalStatusTimeoutSeconds
READ_AFTER_SECONDS = 60  # a Messenger message read in time
FINAL_STATUS_AFTER_SECONDS = 5  # an SMS delivered, or a message rejected
MEMORY_GB = 0.25  # template Globals: 256 MB, arm64
LAMBDA_SECONDS = {  # average duration on AWS, warm
    "CreateWorkflowFunction": 0.15,
    "SendMessageFunction": 0.40,  # a Messages API round trip
    "StatusWebhookFunction": 0.08,
    "DeliverCallbackFunction": 0.20,  # a customer's endpoint
    "AuthorizerFunction": 0.04,  # its result is cached 300 s per credential: ~0 per workflow
}
LOG_BYTES_PER_HISTORY_EVENT = 400  # IncludeExecutionData is false: names, types, timings


@dataclass(frozen=True)
class Counts:
    """One workflow, as `make bench` counts it (`benchmarks.workflow_cost.Measurement`)."""

    transitions: int
    history_events: int
    dynamodb_reads: int
    dynamodb_writes: int
    index_writes: int
    item_bytes: int
    lambdas: dict[str, int]
    rings: int
    status_webhooks: int
    open_seconds: float  # on AWS, from the assumptions above


# `make bench` on 2026-11-29: "before" is commit 079ef96 (the last Wait waits out its timeout),
# "now" this branch. Authorizer invocations are left out: cached, they are not per workflow.
# fmt: off
MEASURED: dict[str, dict[str, Counts]] = {
    "before": {
        "fails over": Counts(
            16, 49, 10, 13, 5, 1459,
            {"CreateWorkflowFunction": 1, "SendMessageFunction": 2, "StatusWebhookFunction": 4}, 0, 4,
            EXPIRY_SECONDS + FINAL_STATUS_TIMEOUT,
        ),
        "read in time": Counts(
            6, 20, 6, 8, 3, 1159,
            {"CreateWorkflowFunction": 1, "SendMessageFunction": 1, "StatusWebhookFunction": 3}, 0, 3,
            EXPIRY_SECONDS,
        ),
        "rejected": Counts(
            16, 49, 9, 13, 5, 1547,
            {"CreateWorkflowFunction": 1, "SendMessageFunction": 2, "StatusWebhookFunction": 4}, 0, 4,
            EXPIRY_SECONDS + FINAL_STATUS_TIMEOUT,
        ),
    },
    "now": {
        "fails over": Counts(
            12, 42, 8, 15, 5, 1459,
            {"CreateWorkflowFunction": 1, "SendMessageFunction": 2, "StatusWebhookFunction": 4}, 1, 4,
            EXPIRY_SECONDS + FINAL_STATUS_AFTER_SECONDS,
        ),
        "read in time": Counts(
            5, 19, 5, 9, 3, 1159,
            {"CreateWorkflowFunction": 1, "SendMessageFunction": 1, "StatusWebhookFunction": 3}, 1, 3,
            READ_AFTER_SECONDS,
        ),
        "rejected": Counts(
            11, 41, 7, 16, 6, 1539,
            {"CreateWorkflowFunction": 1, "SendMessageFunction": 2, "StatusWebhookFunction": 4}, 2, 4,
            2 * FINAL_STATUS_AFTER_SECONDS,
        ),
    },
}
# fmt: on
SCENARIOS = {
    "fails over": "Messenger never read, fails over after its expiry, SMS delivered",
    "read in time": "Messenger read in time, no SMS",
    "rejected": "Messenger rejected, fails over, SMS delivered",
}


def with_callbacks(counts: Counts) -> Counts:
    """A callback URL adds one queued event per status and one final report, each delivered by
    one invocation (FIFO, one message group per workflow)."""
    events = counts.status_webhooks + 1
    lambdas = dict(counts.lambdas, DeliverCallbackFunction=events)
    return replace(counts, lambdas=lambdas)


def callback_events(counts: Counts) -> int:
    return counts.status_webhooks + 1 if "DeliverCallbackFunction" in counts.lambdas else 0


def write_units(counts: Counts) -> int:
    """Each write of the workflow item bills its size in KB; each index write is one small item."""
    return counts.dynamodb_writes * math.ceil(counts.item_bytes / 1024) + counts.index_writes


def limits(counts: Counts) -> dict[str, float]:
    """Sustained workflows/s each AWS quota allows, for workflows like `counts`."""
    lambda_seconds = sum(n * LAMBDA_SECONDS[name] for name, n in counts.lambdas.items())
    api_requests = 1 + counts.status_webhooks  # the create request and every status webhook
    allowed = {
        "open executions (1,000,000)": OPEN_EXECUTIONS / counts.open_seconds,
        "StartExecution (300/s)": START_EXECUTION_PER_S,
        "state transitions (5,000/s)": STATE_TRANSITIONS_PER_S / counts.transitions,
        "Lambda concurrency (1,000)": LAMBDA_CONCURRENCY / lambda_seconds,
        "HTTP API requests (10,000/s)": API_REQUESTS_PER_S / api_requests,
        "DynamoDB table writes (40,000 WRU/s)": TABLE_WRITE_UNITS_PER_S / write_units(counts),
        "DynamoDB table reads (40,000 RRU/s)": TABLE_READ_UNITS_PER_S / counts.dynamodb_reads,
    }
    if counts.rings:
        allowed["SendTaskFailure (500/s)"] = SEND_TASK_FAILURE_PER_S / counts.rings
    if callback_events(counts):
        allowed["callback queue, FIFO (300 sends/s)"] = FIFO_SENDS_PER_S / callback_events(counts)
    return allowed


def per_account_limits(counts: Counts) -> dict[str, float]:
    """What one account can sustain, whatever the quotas above allow for all of them."""
    return {
        # Listings: one index partition per account, written on every change of status, step, time.
        "listing index partition (1,000 WCU/s)": PARTITION_WRITE_UNITS_PER_S / counts.index_writes,
    }


def template_limits(counts: Counts) -> dict[str, float]:
    """This template's own default (ApiThrottlingRateLimit), per route, shared by all accounts."""
    return {
        "POST /v0.1/dispatch (100/s)": ROUTE_RATE_LIMIT,
        "POST /webhooks/message-status (100/s)": ROUTE_RATE_LIMIT / counts.status_webhooks,
    }


def cost_per_million(counts: Counts) -> dict[str, float]:
    million = 1_000_000
    invocations = sum(counts.lambdas.values())
    gb_seconds = sum(n * LAMBDA_SECONDS[name] * MEMORY_GB for name, n in counts.lambdas.items())
    read_units = counts.dynamodb_reads * math.ceil(counts.item_bytes / 4096)  # strongly consistent
    log_gb = counts.history_events * LOG_BYTES_PER_HISTORY_EVENT / 1024**3
    costs = {
        "Step Functions (transitions)": counts.transitions * STEP_FUNCTIONS_PER_TRANSITION,
        "Lambda (requests + GB-s)": invocations * LAMBDA_PER_REQUEST + gb_seconds * LAMBDA_ARM_PER_GB_SECOND,
        "DynamoDB (on-demand)": write_units(counts) * DYNAMODB_PER_WRITE_UNIT
        + read_units * DYNAMODB_PER_READ_UNIT,
        "API Gateway (HTTP API)": (1 + counts.status_webhooks) * HTTP_API_PER_REQUEST,
        "SQS FIFO (callbacks)": 3 * callback_events(counts) * SQS_FIFO_PER_REQUEST,  # send, receive, delete
        "CloudWatch Logs (state machine)": log_gb * CLOUDWATCH_LOGS_PER_GB,
    }
    return {service: cost * million for service, cost in costs.items()}


def _rate(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def print_limits(title: str, rows: dict[str, dict[str, float]], designs: list[str]) -> None:
    print(f"  {title:<44}" + "".join(f"{design:>14}" for design in designs))
    for row in next(iter(rows.values())) | {k: 0 for r in rows.values() for k in r}:
        cells = [rows[d].get(row) for d in designs]
        print(f"  {row:<44}" + "".join(f"{_rate(c) if c is not None else '-':>14}" for c in cells))


def report(measured: dict[str, dict[str, Counts]], *, callbacks: bool) -> None:
    designs = list(measured)
    for key, title in SCENARIOS.items():
        counts = {d: with_callbacks(measured[d][key]) if callbacks else measured[d][key] for d in designs}
        print(f"\n{title}")
        print(f"  {'per workflow':<44}" + "".join(f"{d:>14}" for d in designs))
        for label, value in (
            ("state transitions", lambda c: c.transitions),
            ("Lambda invocations", lambda c: sum(c.lambdas.values())),
            ("DynamoDB writes (+ index writes)", lambda c: f"{c.dynamodb_writes} (+{c.index_writes})"),
            ("DynamoDB reads", lambda c: c.dynamodb_reads),
            ("executions woken (SendTaskFailure)", lambda c: c.rings),
            ("execution open on AWS (s)", lambda c: f"{c.open_seconds:,.0f}"),
        ):
            print(f"  {label:<44}" + "".join(f"{value(counts[d])!s:>14}" for d in designs))
        allowed = {d: limits(counts[d]) for d in designs}
        print_limits("sustained workflows/s on AWS quotas", allowed, designs)
        binding = {d: min(allowed[d], key=allowed[d].get) for d in designs}
        for d in designs:
            print(f"  binds ({d}): {binding[d]} -> {_rate(allowed[d][binding[d]])} workflows/s")
        print_limits(
            "one account (its listing index)", {d: per_account_limits(counts[d]) for d in designs}, designs
        )
        print_limits("template default throttles", {d: template_limits(counts[d]) for d in designs}, designs)
        costs = {d: cost_per_million(counts[d]) for d in designs}
        print(f"  {'cost per million workflows (USD)':<44}" + "".join(f"{d:>14}" for d in designs))
        for service in costs[designs[0]]:
            print(f"  {service:<44}" + "".join(f"{costs[d][service]:>14,.2f}" for d in designs))
        print(f"  {'total':<44}" + "".join(f"{sum(costs[d].values()):>14,.2f}" for d in designs))
    if not callbacks:
        print(callbacks_note(measured["now"]["fails over"]))


def callbacks_note(counts: Counts) -> str:
    """What a callback URL changes (make capacity ARGS=--callbacks prints it in full)."""
    with_them = with_callbacks(counts)
    allowed = limits(with_them)
    extra = sum(cost_per_million(with_them).values()) - sum(cost_per_million(counts).values())
    return (
        f"\nWith a callback URL (ARGS=--callbacks), a workflow that fails over also queues "
        f"{callback_events(with_them)} callback events: the FIFO callback queue (300 sends/s without "
        f"high-throughput mode) then binds at {_rate(allowed['callback queue, FIFO (300 sends/s)'])} "
        f"workflows/s, and it costs ${extra:,.2f} more per million workflows (SQS and delivery Lambda)."
    )


def measure_now() -> dict[str, Counts]:
    """Re-measure the current design on the local stack (takes a minute)."""
    from benchmarks.workflow_cost import run

    open_seconds = MEASURED["now"]
    counts = {}
    for key, m in run(quiet=True).items():
        lambdas = {k: v for k, v in m.lambda_invocations.items() if k != "AuthorizerFunction"}
        counts[key] = Counts(
            m.transitions,
            m.history_events,
            m.dynamodb_reads,
            m.dynamodb_writes,
            m.index_writes,
            m.item_bytes,
            lambdas,
            m.rings,
            m.status_webhooks,
            open_seconds[key].open_seconds,
        )
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true", help="re-measure the current design first")
    parser.add_argument("--callbacks", action="store_true", help="workflows with a callback URL")
    args = parser.parse_args(argv)
    measured = dict(MEASURED)
    if args.measure:
        measured["now"] = measure_now()
    print("Capacity and cost per workflow on AWS (us-east-1 quotas and prices; see benchmarks/capacity.py).")
    print("Command: make capacity")
    print(
        f"Assumptions: expiry {EXPIRY_SECONDS} s, final-status timeout {FINAL_STATUS_TIMEOUT:,} s, "
        f"read after {READ_AFTER_SECONDS} s, SMS final status after {FINAL_STATUS_AFTER_SECONDS} s; Lambda "
        f"{int(MEMORY_GB * 1024)} MB arm64; callbacks {'on' if args.callbacks else 'off'}."
    )
    report(measured, callbacks=args.callbacks)


if __name__ == "__main__":
    main()
