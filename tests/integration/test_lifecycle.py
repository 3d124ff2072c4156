"""Executions that end when their workflow ends: the status webhook wakes the execution waiting on
a decided step (its task token, stored on the workflow item by the state machine), through the
local stack: real template, real ASL on moto, real handlers, sandbox statuses.

Where a test needs a status to come while the execution waits, it holds the recipient's statuses
in the sandbox until the token is stored, then lets them go: the path every status takes on AWS,
where statuses come seconds after the send."""

from __future__ import annotations

import contextlib
import io
import re
import time

import pytest
from botocore.exceptions import ClientError

from local_stack.demo import run_demo, text_step
from tests.integration.helpers import (
    describe_execution,
    for_workflow,
    intercepted_dynamodb_writes,
    recipient,
    seconds_between,
    start_workflow,
    states_entered,
    wait_for_end,
    wait_for_execution_end,
    waiting_on,
    workflow_item,
)

# Long enough that an execution ending before it was woken, not timed out.
LONG_EXPIRY = 30
EXPIRY = 2
# The targets: the execution ends, and a failed message's next one goes, this soon after the status.
WITHIN_SECONDS = 2.0
MAX_TRANSITIONS_FAILOVER = 12  # the canonical Messenger -> SMS workflow that fails over (16 before)
MAX_TRANSITIONS_READ_IN_TIME = 7  # the same workflow, read in time (6 before)


def messenger_then_sms(messenger: str, sms: str, *, expiry: int) -> dict:
    return {
        "template": "failover",
        "workflow": [
            text_step("messenger", messenger, "hi", {"expiry_time": expiry, "condition_status": "read"}),
            text_step("sms", sms, "hi by sms"),
        ],
    }


def run_with_held_statuses(stack, api, body: dict, held: str, step_index: int) -> str:
    """Start the workflow, hold `held`'s statuses until the execution waits on `step_index`."""
    gate = stack.sandbox.hold_statuses(held)
    dispatch_uuid = start_workflow(api, stack, body)
    waiting_on(stack, dispatch_uuid, step_index)
    gate.set()
    return dispatch_uuid


def ended_together(stack, api, dispatch_uuid: str) -> tuple[dict, dict, float]:
    """The workflow, its execution, and the seconds from the workflow's end to the execution's."""
    workflow = wait_for_end(api, stack, dispatch_uuid, timeout=LONG_EXPIRY)
    execution = wait_for_execution_end(stack, dispatch_uuid, timeout=LONG_EXPIRY)
    return workflow, execution, seconds_between(workflow["finished_at"], execution["stopDate"])


# -- the execution ends with its workflow, on every step ----------------------------------------


def test_read_in_time_ends_the_execution_at_once_in_few_transitions(stack, api):
    # Given the canonical workflow whose Messenger message is read long before its expiry
    messenger = recipient("55")
    dispatch_uuid = run_with_held_statuses(
        stack, api, messenger_then_sms(messenger, recipient("55"), expiry=LONG_EXPIRY), messenger, 0
    )

    # When the read completes the workflow
    workflow, execution, lag = ended_together(stack, api, dispatch_uuid)

    # Then the execution ends with it, not at the expiry, through few states
    assert (workflow["status"], execution["status"]) == ("completed", "SUCCEEDED")
    assert 0 <= lag < WITHIN_SECONDS
    states = states_entered(stack, dispatch_uuid)
    assert states[-1] == "Workflow decided by a status"
    assert len(states) <= MAX_TRANSITIONS_READ_IN_TIME, states


def test_a_failover_whose_last_message_is_delivered_ends_the_execution_at_once(stack, api):
    # Given the canonical workflow: Messenger never read (expires), then an SMS that is delivered
    sms = recipient("55")
    dispatch_uuid = run_with_held_statuses(
        stack, api, messenger_then_sms(recipient("01"), sms, expiry=EXPIRY), sms, 1
    )

    # When the SMS's delivered status completes the workflow
    workflow, execution, lag = ended_together(stack, api, dispatch_uuid)

    # Then the execution ends with it, not at the final-status timeout
    assert [s.get("outcome") for s in workflow["workflow"]] == ["expired", "condition_met"]
    assert (workflow["status"], execution["status"]) == ("completed", "SUCCEEDED")
    assert 0 <= lag < WITHIN_SECONDS
    states = states_entered(stack, dispatch_uuid)
    assert states[-1] == "Workflow decided by a status"
    assert len(states) <= MAX_TRANSITIONS_FAILOVER, states


@pytest.mark.parametrize("suffix", ["03", "04"])
def test_a_last_message_that_fails_ends_the_execution_at_once(stack, api, suffix):
    sms = recipient(suffix)
    dispatch_uuid = run_with_held_statuses(
        stack, api, messenger_then_sms(recipient("01"), sms, expiry=EXPIRY), sms, 1
    )

    workflow, execution, lag = ended_together(stack, api, dispatch_uuid)

    assert workflow["status"] == "error"
    assert workflow["workflow"][1]["outcome"] == {"03": "rejected", "04": "undeliverable"}[suffix]
    assert execution["status"] == "SUCCEEDED"
    assert 0 <= lag < WITHIN_SECONDS


# -- early failover --------------------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "outcome"), [("03", "rejected"), ("04", "undeliverable")])
def test_a_failed_message_fails_over_at_once_not_at_its_expiry(stack, api, suffix, outcome):
    # Given a Messenger message (expiry 30 s) that the sandbox rejects, or cannot deliver
    messenger = recipient(suffix)
    dispatch_uuid = run_with_held_statuses(
        stack, api, messenger_then_sms(messenger, recipient("55"), expiry=LONG_EXPIRY), messenger, 0
    )

    # When its failure status arrives
    workflow, execution, lag = ended_together(stack, api, dispatch_uuid)

    # Then the step's outcome says why, and the SMS went within seconds of the status
    first, second = workflow["workflow"]
    assert (first["status"], first["outcome"]) == (outcome, outcome)
    assert 0 <= seconds_between(first["outcome_at"], second["sent_at"]) < WITHIN_SECONDS
    assert (workflow["status"], second["outcome"]) == ("completed", "condition_met")
    assert seconds_between(workflow["created_at"], workflow["finished_at"]) < LONG_EXPIRY
    assert execution["status"] == "SUCCEEDED" and 0 <= lag < WITHIN_SECONDS


# -- races and late rings ----------------------------------------------------------------------------


def test_a_step_decided_before_its_wait_began_ends_the_wait_at_once(stack, api):
    # Given the state machine is slow to store its token: the read arrives before it does
    started: list[str] = []  # the workflow, once its id is known (its token write comes later)
    delayed: list[str] = []

    def slow_token_write(body, headers):
        storing_token = "task_token = :token" in body.get("UpdateExpression", "")
        if storing_token and (not started or for_workflow(body, started[0])):
            delayed.append(body["Key"]["pk"]["S"])
            time.sleep(1.5)

    with intercepted_dynamodb_writes(slow_token_write):
        started.append(
            start_workflow(
                api, stack, messenger_then_sms(recipient("55"), recipient("55"), expiry=LONG_EXPIRY)
            )
        )
        # When the read completes the workflow first
        workflow, execution, lag = ended_together(stack, api, started[0])

    # Then the refused token write ends the wait at once: no waiting for the 30 s expiry
    assert f"WORKFLOW#{started[0]}" in delayed
    assert (workflow["status"], execution["status"]) == ("completed", "SUCCEEDED")
    assert lag < WITHIN_SECONDS + 1.5
    assert "Step decided before the wait" in states_entered(stack, started[0])


def test_late_and_repeated_rings_change_nothing(stack, api):
    stepfunctions = stack.client("stepfunctions")

    def ring(token: str) -> None:
        # AWS refuses a used token; moto may accept it: neither may change anything.
        with contextlib.suppress(ClientError):
            stepfunctions.send_task_failure(taskToken=token, error="Step.WorkflowEnded", cause="late")

    # Given a workflow whose Messenger step expired and whose execution now waits on WhatsApp
    whatsapp = recipient("55")
    gate = stack.sandbox.hold_statuses(whatsapp)
    body = messenger_then_sms(recipient("01"), recipient("55"), expiry=EXPIRY)
    body["workflow"].insert(
        1, text_step("whatsapp", whatsapp, "hi", {"expiry_time": LONG_EXPIRY, "condition_status": "read"})
    )
    stored: dict[tuple[str, int], str] = {}  # (item key, step) -> the token the state machine stored

    def keep_tokens(body, headers):
        values = body.get("ExpressionAttributeValues") or {}
        if ":token" in values:
            stored[body["Key"]["pk"]["S"], int(values[":step"]["N"])] = values[":token"]["S"]

    with intercepted_dynamodb_writes(keep_tokens):
        dispatch_uuid = start_workflow(api, stack, body)
        step_1_token = waiting_on(stack, dispatch_uuid, 1)
    step_0_token = stored[f"WORKFLOW#{dispatch_uuid}", 0]
    assert stored[f"WORKFLOW#{dispatch_uuid}", 1] == step_1_token

    # When the expired step's token rings, twice
    ring(step_0_token)
    ring(step_0_token)
    time.sleep(1.0)

    # Then the execution still waits on WhatsApp, and the workflow is untouched
    assert describe_execution(stack, dispatch_uuid)["status"] == "RUNNING"
    item = workflow_item(stack, dispatch_uuid)
    assert (item["status"], int(item["current_step"]), item["task_token"]) == ("in_progress", 1, step_1_token)

    # And when WhatsApp's read arrives, the workflow completes as usual
    gate.set()
    workflow, execution, _ = ended_together(stack, api, dispatch_uuid)
    assert [s.get("outcome") for s in workflow["workflow"]] == ["expired", "condition_met", None]
    assert (workflow["status"], execution["status"]) == ("completed", "SUCCEEDED")
    assert "task_token" not in workflow_item(stack, dispatch_uuid)  # taken by the deciding write

    # And rings after the end, with either token, change nothing either
    history_before = states_entered(stack, dispatch_uuid)
    ring(step_1_token)
    ring(step_0_token)
    time.sleep(0.5)
    assert describe_execution(stack, dispatch_uuid)["status"] == "SUCCEEDED"
    assert api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").json() == workflow
    assert states_entered(stack, dispatch_uuid) == history_before


# -- the demo ------------------------------------------------------------------------------------------


def test_the_demo_timeline_shows_the_execution_ending_with_the_workflow(stack):
    out = io.StringIO()

    workflow = run_demo(
        stack.api_url,
        stack.settings.api_key,
        stack.settings.api_secret,
        expiry_time=EXPIRY,
        out=out,
        describe_execution=lambda uuid_: describe_execution(stack, uuid_),
    )

    assert workflow["status"] == "completed"
    (line,) = [line for line in out.getvalue().splitlines() if "] execution " in line]
    seconds = float(re.search(r"execution SUCCEEDED (\d+\.\d) s after the workflow completed", line).group(1))
    assert 0 <= seconds < WITHIN_SECONDS
