"""Reconciling executions that ended without ending their workflow (dispatch.domain.reconciliation)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dynamodb import wait_for_status
from fakes import DISPATCH_UUID, stored_canonical_workflow

from dispatch.clock import iso
from dispatch.domain.reconciliation import (
    ExecutionStatusChange,
    ExecutionStatusEvent,
    InvalidExecutionEvent,
    Reconciled,
    error_reason,
    reconcile_execution,
)
from dispatch.storage.workflow_repository import WorkflowRepository

NOW = datetime(2025, 1, 2, 3, 20, 0, tzinfo=UTC)
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Workflows"


@pytest.fixture
def workflows(workflows: WorkflowRepository) -> WorkflowRepository:
    """The repository on moto, holding the canonical workflow."""
    stored_canonical_workflow(workflows)
    return workflows


def set_on_workflow(table, **values) -> None:
    """Write attributes on the stored workflow item directly (as another writer would have)."""
    names = {f"#{key}": key for key in values}
    table.update_item(
        Key={"pk": f"WORKFLOW#{DISPATCH_UUID}"},
        UpdateExpression="SET " + ", ".join(f"#{key} = :{key}" for key in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{key}": value for key, value in values.items()},
    )


def change(status: str, error: str | None = None, name: str = DISPATCH_UUID) -> ExecutionStatusChange:
    return ExecutionStatusChange(
        execution_arn=MACHINE.replace(":stateMachine:", ":execution:") + f":{name}",
        state_machine_arn=MACHINE,
        name=name,
        status=status,
        error=error,
    )


def reconcile(workflows, status: str, error: str | None = None, **options) -> tuple[Reconciled, list]:
    published: list = []
    result = reconcile_execution(
        change(status, error, **options), workflows=workflows, publish=published.append, now=lambda: NOW
    )
    return result, published


def with_callback(table) -> None:
    set_on_workflow(table, callback_url="https://example.com/callbacks")


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        ("FAILED", "States.Runtime", "execution failed (States.Runtime)"),
        ("FAILED", "Step.Unreconciled", "execution failed (Step.Unreconciled)"),
        ("TIMED_OUT", "States.Timeout", "execution timed out (States.Timeout)"),
        ("ABORTED", None, "execution aborted"),
    ],
)
def test_an_execution_that_ended_abnormally_ends_its_workflow_in_error_and_reports_it(
    workflows, table, status, error, reason
):
    # Given a workflow in progress, with a callback URL
    with_callback(table)
    wait_for_status(table, DISPATCH_UUID, 0, "a-token")
    # When its execution ends without ending it
    result, published = reconcile(workflows, status, error)
    # Then the workflow is in error with the reason, and its final report is queued
    stored = workflows.get(DISPATCH_UUID)
    assert result is Reconciled.ENDED_IN_ERROR
    assert (stored["status"], stored["error_reason"], stored["finished_at"]) == ("error", reason, iso(NOW))
    assert "task_token" not in stored
    assert [(e.kind, e.event_id) for e in published] == [("final_report", f"{DISPATCH_UUID}:final")]


def test_without_a_callback_url_nothing_is_queued(workflows):
    result, published = reconcile(workflows, "FAILED", "States.Runtime")

    assert result is Reconciled.ENDED_IN_ERROR
    assert published == []


@pytest.mark.parametrize("ended", ["completed", "cancelled", "error"])
def test_a_workflow_that_ended_is_never_touched(workflows, table, ended):
    # Given a workflow that completed, was cancelled (our cancel stops its execution) or ended
    set_on_workflow(table, status=ended, finished_at="2025-01-02T03:10:00.000Z")
    before = workflows.get(DISPATCH_UUID)
    # When its execution is reported aborted
    result, published = reconcile(workflows, "ABORTED")
    # Then nothing changes and nothing is reported
    assert result is Reconciled.ALREADY_ENDED
    assert workflows.get(DISPATCH_UUID) == before
    assert published == []


def test_a_failed_execution_of_an_ended_workflow_queues_its_report_again(workflows, table):
    # Given the state machine ended the workflow but failed before queueing its final report
    with_callback(table)
    set_on_workflow(table, status="error", finished_at="2025-01-02T03:10:00.000Z")
    before = workflows.get(DISPATCH_UUID)
    # When its execution is reported failed
    result, published = reconcile(workflows, "FAILED", "Step.Unreconciled")
    # Then the report is queued (its event id makes a duplicate harmless) and nothing else changes
    assert result is Reconciled.REPORTED_AGAIN
    assert [e.kind for e in published] == ["final_report"]
    assert workflows.get(DISPATCH_UUID) == before


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED", "PENDING_REDRIVE"])
def test_other_statuses_are_ignored(workflows, status):
    before = workflows.get(DISPATCH_UUID)

    result, published = reconcile(workflows, status)

    assert result is Reconciled.IGNORED
    assert (workflows.get(DISPATCH_UUID), published) == (before, [])


def test_an_execution_of_no_known_workflow_changes_nothing(workflows):
    result, published = reconcile(workflows, "FAILED", name="4b1c0000-0000-0000-0000-000000000000")

    assert result is Reconciled.UNKNOWN_WORKFLOW
    assert published == []


def test_the_reason_never_carries_the_cause():
    failed = ExecutionStatusEvent.from_event(
        {
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": {
                "executionArn": "arn:x",
                "stateMachineArn": MACHINE,
                "name": DISPATCH_UUID,
                "status": "FAILED",
                "error": "States.TaskFailed",
                "cause": "free text that could say anything",
            },
        }
    ).detail

    assert error_reason(failed) == "execution failed (States.TaskFailed)"


# -- found by mutation testing (`make mutation`, 2026-11-29) -------------------------------------


def test_an_aborted_execution_of_an_ended_workflow_does_not_report_it_again(workflows, table):
    # Given a workflow with a callback URL that a cancel ended (the cancel stops the execution)
    with_callback(table)
    set_on_workflow(table, status="cancelled", finished_at="2025-01-02T03:10:00.000Z")
    # When its execution is reported aborted; Then nothing is queued: the cancel reported it
    assert reconcile(workflows, "ABORTED") == (Reconciled.ALREADY_ENDED, [])


def test_a_failed_execution_of_an_ended_workflow_without_a_callback_url_queues_nothing(workflows, table):
    set_on_workflow(table, status="error", finished_at="2025-01-02T03:10:00.000Z")
    assert reconcile(workflows, "FAILED", "Step.Unreconciled") == (Reconciled.ALREADY_ENDED, [])


# -- the event as EventBridge delivers it (found by `make mutation`, second pass) ----------------


def event(**detail: object) -> dict:
    """An "Execution Status Change" event with EventBridge's own field names."""
    execution = MACHINE.replace(":stateMachine:", ":execution:") + f":{DISPATCH_UUID}"
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": execution,
            "stateMachineArn": MACHINE,
            "name": DISPATCH_UUID,
            "status": "FAILED",
            "error": "States.Runtime",
            **detail,
        },
    }


def test_an_event_is_read_with_eventbridges_field_names() -> None:
    read = ExecutionStatusEvent.from_event(event())
    assert (read.source, read.detail_type) == ("aws.states", "Step Functions Execution Status Change")
    assert (read.detail.execution_arn, read.detail.state_machine_arn) == (
        MACHINE.replace(":stateMachine:", ":execution:") + f":{DISPATCH_UUID}",
        MACHINE,
    )
    assert (read.detail.name, read.detail.status, read.detail.error) == (
        DISPATCH_UUID,
        "FAILED",
        "States.Runtime",
    )


@pytest.mark.parametrize("missing", ["executionArn", "stateMachineArn", "name", "status"])
def test_an_event_without_its_execution_arns_or_name_is_refused(missing) -> None:
    detail = event()["detail"]
    del detail[missing]
    with pytest.raises(InvalidExecutionEvent):
        ExecutionStatusEvent.from_event(event() | {"detail": detail})


@pytest.mark.parametrize(
    "malformed",
    [{"name": 7}, {"status": None}, {"error": 1}, {"executionArn": ["arn"]}],
    ids=["name", "status", "error", "executionArn"],
)
def test_an_event_with_a_field_of_another_type_is_refused_naming_it(malformed) -> None:
    with pytest.raises(InvalidExecutionEvent, match=f"detail.{next(iter(malformed))} must be"):
        ExecutionStatusEvent.from_event(event(**malformed))


@pytest.mark.parametrize("envelope", [None, [], {"detail": "x"}, {"source": 1, "detail": {}}])
def test_something_that_is_not_an_eventbridge_event_is_refused(envelope) -> None:
    with pytest.raises(InvalidExecutionEvent):
        ExecutionStatusEvent.from_event(envelope)


@pytest.mark.parametrize(("length", "valid"), [(0, False), (1, True), (80, True), (81, False)])
def test_an_execution_name_has_1_to_80_characters_as_step_functions_allows(length, valid) -> None:
    # The name is the workflow's dispatch_uuid; anything Step Functions could not have named is refused
    try:
        ExecutionStatusEvent.from_event(event(name="n" * length))
    except InvalidExecutionEvent:
        assert not valid
    else:
        assert valid


def test_the_reconcile_function_answers_with_these_result_names() -> None:
    # Its answer, {"result": ...}, and its log line carry them
    assert [result.value for result in Reconciled] == [
        "ended_in_error",
        "reported_again",
        "already_ended",
        "unknown_workflow",
        "ignored",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: None, "event must be an object"),
        (lambda e: e | {"detail": []}, "detail must be an object"),
        (lambda e: e | {"source": None}, "source must be a string"),
        (lambda e: e | {"detail-type": 1}, "detail-type must be a string"),
        (lambda e: e | {"detail": e["detail"] | {"executionArn": 1}}, "detail.executionArn must be a string"),
        (
            lambda e: e | {"detail": e["detail"] | {"stateMachineArn": 1}},
            "detail.stateMachineArn must be a string",
        ),
        (lambda e: e | {"detail": e["detail"] | {"status": 1}}, "detail.status must be a string"),
        (lambda e: e | {"detail": e["detail"] | {"name": ""}}, "detail.name must be 1 to 80 characters"),
        (lambda e: e | {"detail": e["detail"] | {"error": 1}}, "detail.error must be a string"),
    ],
)
def test_each_refused_event_says_which_field_and_why(change, message) -> None:
    with pytest.raises(InvalidExecutionEvent) as raised:
        ExecutionStatusEvent.from_event(change(event()))
    assert str(raised.value) == message
