"""The local stack's "Step Functions Execution Status Change" events: shaped as AWS puts them on
the default bus, and matched by the template's rule the way EventBridge matches them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from moto.events.models import EventPattern

from dispatch.domain.reconciliation import ExecutionStatusEvent
from local_stack.deploy import load_template
from local_stack.execution_events import status_change_event

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Workflows"
NAME = "5b3f8a52-1f0e-4c57-9a8e-1c2d3e4f5a6b"


def described(status: str, machine: str = MACHINE, **fields) -> dict:
    """A describe_execution answer (boto3 gives datetimes)."""
    return {
        "executionArn": machine.replace(":stateMachine:", ":execution:") + f":{NAME}",
        "stateMachineArn": machine,
        "name": NAME,
        "status": status,
        "startDate": datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "stopDate": datetime(2025, 1, 2, 3, 16, 5, tzinfo=UTC),
        "input": json.dumps({"dispatch_uuid": NAME, "step_index": 0, "last_step_index": 1}),
        **fields,
    }


@pytest.fixture(scope="module")
def rule() -> EventPattern:
    """The template's rule, its state machine Ref resolved as CloudFormation would."""
    function = load_template()["Resources"]["ReconcileExecutionFunction"]
    (event,) = function["Properties"]["Events"].values()
    pattern = json.loads(json.dumps(event["Properties"]["Pattern"]))
    pattern["detail"]["stateMachineArn"] = [MACHINE]
    return EventPattern.load(json.dumps(pattern))


def test_an_event_carries_what_aws_puts_in_it():
    event = status_change_event(
        described("FAILED", error="States.Runtime", cause="boom"), account="123456789012", region="us-east-1"
    )

    assert (event["source"], event["detail-type"]) == ("aws.states", "Step Functions Execution Status Change")
    assert event["resources"] == [event["detail"]["executionArn"]]
    assert event["time"] == "2025-01-02T03:16:05Z"
    assert (event["detail"]["startDate"], event["detail"]["stopDate"]) == (1735787045678, 1735787765000)
    assert (event["detail"]["error"], event["detail"]["cause"]) == ("States.Runtime", "boom")
    assert ExecutionStatusEvent.from_event(event).detail.name == NAME


@pytest.mark.parametrize(
    ("status", "matched"), [("FAILED", True), ("TIMED_OUT", True), ("ABORTED", True), ("SUCCEEDED", False)]
)
def test_the_rule_matches_only_abnormal_ends(rule, status, matched):
    event = status_change_event(described(status), account="123456789012", region="us-east-1")

    assert rule.matches_event(event) is matched


def test_the_rule_matches_only_this_state_machine(rule):
    other = MACHINE.replace("Workflows", "SomethingElse")
    event = status_change_event(
        described("FAILED", machine=other), account="123456789012", region="us-east-1"
    )

    assert rule.matches_event(event) is False
