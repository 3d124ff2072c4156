"""Nothing stuck: whatever fails, no workflow stays in progress once its execution has ended, and
a workflow ended by a fault says why and has its final report queued. Through the local stack:
faults are injected into its DynamoDB (moto, in this process) per workflow; the reconciler gets
its execution status events from the local stack's emulation of EventBridge."""

from __future__ import annotations

import pytest

from local_stack.demo import text_step
from local_stack.receiver import CallbackReceiver
from tests.integration.helpers import (
    InjectedDynamoDbError,
    describe_execution,
    execution_arn,
    for_workflow,
    from_state_machine,
    intercepted_dynamodb_writes,
    messages_sent_for,
    recipient,
    start_workflow,
    wait_for_end,
    wait_for_execution_end,
    wait_until,
    waiting_on,
    workflow_item,
)

EXPIRY = 2
# Where a test acts while a step waits, the wait must outlast the test's look at it.
WAIT_EXPIRY = 15
LONG_EXPIRY = 30


@pytest.fixture(scope="module")
def receiver():
    receiver = CallbackReceiver().start()
    yield receiver
    receiver.stop()


def final_report(receiver: CallbackReceiver, dispatch_uuid: str) -> dict:
    def received():
        return [
            r["body"]
            for r in receiver.received
            if r["body"].get("dispatch_uuid") == dispatch_uuid and "template" in r["body"]
        ]

    (report,) = wait_until(received, timeout=30)
    return report


def two_steps(first: str, second: str = "55", *, expiry: int = EXPIRY, callback: str | None = None) -> dict:
    body = {
        "template": "failover",
        "workflow": [
            text_step("messenger", first, "hi", {"expiry_time": expiry, "condition_status": "read"}),
            text_step("sms", recipient(second), "hi by sms"),
        ],
    }
    if callback:
        body["callback"] = callback
    return body


def nothing_left_in_progress(stack, dispatch_uuid: str) -> tuple[dict, dict | None]:
    """Once the execution has ended, its workflow is no longer in progress (or is gone)."""
    execution = wait_for_execution_end(stack, dispatch_uuid, timeout=60)
    item = workflow_item(stack, dispatch_uuid)
    assert item is None or item["status"] != "in_progress", item
    return execution, item


# -- the send -------------------------------------------------------------------------------------


def test_a_send_that_dies_after_the_provider_took_the_message_does_not_send_it_again(stack, api):
    # Given the send Lambda dies after the Messages API accepted the message (recording it fails)
    started: list[str] = []

    def die_after_sending(body, headers):
        if (
            started
            and for_workflow(body, started[0])
            and ".send_state = :accepted" in body["UpdateExpression"]
        ):
            raise InjectedDynamoDbError("ValidationException")

    with intercepted_dynamodb_writes(die_after_sending):
        started.append(start_workflow(api, stack, two_steps(recipient("55"), expiry=LONG_EXPIRY)))
        # When Step Functions retries it
        execution, item = nothing_left_in_progress(stack, started[0])

    # Then the retry finds the attempt and sends nothing; the statuses still complete the workflow
    assert (item["status"], execution["status"]) == ("completed", "SUCCEEDED")
    assert len(messages_sent_for(stack, started[0])) == 1


def test_a_send_that_keeps_failing_is_recorded_and_fails_over(stack, api):
    # Given the send Lambda fails on every attempt for step 0 (before anything is sent)
    started: list[str] = []

    def fail_every_attempt(body, headers):
        if (
            started
            and for_workflow(body, started[0])
            and "steps[0].send_state = :sending" in body["UpdateExpression"]
        ):
            raise InjectedDynamoDbError("ValidationException")

    with intercepted_dynamodb_writes(fail_every_attempt):
        started.append(start_workflow(api, stack, two_steps(recipient("55"), expiry=LONG_EXPIRY)))
        workflow = wait_for_end(api, stack, started[0], timeout=60)

    # Then, past the task's retries, step 0 is send_failed and the SMS goes
    assert [s.get("outcome") for s in workflow["workflow"]] == ["send_failed", "condition_met"]
    execution, _ = nothing_left_in_progress(stack, started[0])
    assert execution["status"] == "SUCCEEDED"


# -- the workflow item ------------------------------------------------------------------------------


def test_a_workflow_item_that_disappears_mid_wait_ends_its_execution(stack, api):
    messenger = recipient("55")
    stack.sandbox.hold_statuses(messenger)  # never released: no status for a deleted workflow
    dispatch_uuid = start_workflow(api, stack, two_steps(messenger, expiry=WAIT_EXPIRY))
    waiting_on(stack, dispatch_uuid, 0)

    stack.session().resource("dynamodb").Table(stack.table_name).delete_item(
        Key={"pk": f"WORKFLOW#{dispatch_uuid}"}
    )

    execution, item = nothing_left_in_progress(stack, dispatch_uuid)
    assert (item, execution["status"]) == (None, "SUCCEEDED")
    assert api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").status_code == 404


def test_a_workflow_item_that_lost_its_place_mid_wait_ends_in_error_with_a_reason(stack, api, receiver):
    # Given a workflow whose item no longer matches what the state machine expects
    messenger = recipient("55")
    stack.sandbox.hold_statuses(messenger)
    dispatch_uuid = start_workflow(
        api, stack, two_steps(messenger, expiry=WAIT_EXPIRY, callback=receiver.url)
    )
    waiting_on(stack, dispatch_uuid, 0)
    stack.session().resource("dynamodb").Table(stack.table_name).update_item(
        Key={"pk": f"WORKFLOW#{dispatch_uuid}"},
        UpdateExpression="SET current_step = :seven",
        ExpressionAttributeValues={":seven": 7},
    )

    # When its step expires, every conditional write is refused
    execution, item = nothing_left_in_progress(stack, dispatch_uuid)

    # Then the fault handler ends it in error, says why, and reports it
    assert execution["status"] == "SUCCEEDED"
    workflow = api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").json()
    assert workflow["status"] == "error"
    assert workflow["error_reason"] == "state machine fault: DynamoDB.ConditionalCheckFailedException"
    assert final_report(receiver, dispatch_uuid)["error_reason"] == workflow["error_reason"]


# -- DynamoDB failing past the state machine's retries ----------------------------------------------


def test_dynamodb_failing_the_fail_over_past_retries_ends_the_workflow_in_error(stack, api, receiver):
    started: list[str] = []

    def refuse_fail_over(body, headers):
        fail_over = "current_step = :next_step" in body.get("UpdateExpression", "")
        if started and from_state_machine(headers) and for_workflow(body, started[0]) and fail_over:
            raise InjectedDynamoDbError("ProvisionedThroughputExceededException")

    with intercepted_dynamodb_writes(refuse_fail_over):
        started.append(start_workflow(api, stack, two_steps(recipient("01"), callback=receiver.url)))
        execution, item = nothing_left_in_progress(stack, started[0])

    assert (item["status"], execution["status"]) == ("error", "SUCCEEDED")
    reason = "state machine fault: DynamoDB.ProvisionedThroughputExceededException"
    assert item["error_reason"] == reason
    report = final_report(receiver, started[0])
    assert (report["status"], report["error_reason"]) == ("error", reason)


def test_dynamodb_failing_every_state_machine_write_leaves_the_workflow_to_the_reconciler(
    stack, api, receiver
):
    started: list[str] = []

    def refuse_the_state_machine(body, headers):
        if started and from_state_machine(headers) and for_workflow(body, started[0]):
            raise InjectedDynamoDbError("ProvisionedThroughputExceededException")

    with intercepted_dynamodb_writes(refuse_the_state_machine):
        started.append(start_workflow(api, stack, two_steps(recipient("01"), callback=receiver.url)))
        # The state machine gives up: its execution fails
        execution = wait_for_execution_end(stack, started[0], timeout=60)
        assert execution["status"] == "FAILED"
        # And the reconciler ends the workflow in error, and reports it
        workflow = wait_for_end(api, stack, started[0], timeout=30)

    assert workflow["status"] == "error"
    assert workflow["error_reason"] == "execution failed (Step.Unreconciled)"
    assert final_report(receiver, started[0])["error_reason"] == workflow["error_reason"]


# -- executions that end by hand ---------------------------------------------------------------------


def test_an_execution_stopped_by_hand_ends_its_workflow_in_error(stack, api, receiver):
    messenger = recipient("02")  # submitted only: the step would wait out its 30 s expiry
    dispatch_uuid = start_workflow(
        api, stack, two_steps(messenger, expiry=LONG_EXPIRY, callback=receiver.url)
    )
    waiting_on(stack, dispatch_uuid, 0)

    stack.client("stepfunctions").stop_execution(
        executionArn=execution_arn(stack, dispatch_uuid), cause="Stopped from the console"
    )

    workflow = wait_for_end(api, stack, dispatch_uuid, timeout=30)
    assert (workflow["status"], workflow["error_reason"]) == ("error", "execution aborted")
    assert describe_execution(stack, dispatch_uuid)["status"] == "ABORTED"
    assert final_report(receiver, dispatch_uuid)["status"] == "error"


def test_a_cancelled_workflow_stays_cancelled_when_its_aborted_execution_is_reconciled(stack, api):
    dispatch_uuid = start_workflow(api, stack, two_steps(recipient("02"), expiry=LONG_EXPIRY))
    waiting_on(stack, dispatch_uuid, 0)

    assert api.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").status_code == 200

    arn = execution_arn(stack, dispatch_uuid)
    wait_until(lambda: [e for e in stack.execution_events.delivered if e["detail"]["executionArn"] == arn])
    workflow = api.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").json()
    assert workflow["status"] == "cancelled"
    assert "error_reason" not in workflow
