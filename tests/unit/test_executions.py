"""The state machine's executions (dispatch.integrations.executions), against a stubbed Step
Functions client: named by the workflow, a refused start is WorkflowNotStarted, and stopping an
execution that does not exist is not an error."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from dispatch.domain.errors import WorkflowNotStarted
from dispatch.integrations.executions import StepFunctionsExecutions

STATE_MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:workflow"
DISPATCH_UUID = "0a32f954-9e9a-4650-b2a3-8cd6d6da6a9e"
EXECUTION = f"arn:aws:states:eu-west-1:123456789012:execution:workflow:{DISPATCH_UUID}"


@pytest.fixture
def stepfunctions() -> Iterator[tuple[StepFunctionsExecutions, Stubber]]:
    client = boto3.client(
        "stepfunctions", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield StepFunctionsExecutions(client, STATE_MACHINE), stubber
        stubber.assert_no_pending_responses()


def test_an_execution_is_named_by_its_workflow(stepfunctions) -> None:
    executions, stubber = stepfunctions
    execution_input = {"dispatch_uuid": DISPATCH_UUID, "step_index": 0, "last_step_index": 1}
    stubber.add_response(
        "start_execution",
        {"executionArn": EXECUTION, "startDate": "2025-01-01T00:00:00Z"},
        {"stateMachineArn": STATE_MACHINE, "name": DISPATCH_UUID, "input": json.dumps(execution_input)},
    )
    executions.start(DISPATCH_UUID, execution_input)


def test_a_refused_start_is_workflow_not_started(stepfunctions) -> None:
    executions, stubber = stepfunctions
    stubber.add_client_error("start_execution", "StateMachineDoesNotExist")
    with pytest.raises(WorkflowNotStarted):
        executions.start(DISPATCH_UUID, {})


def test_stopping_stops_the_workflows_execution(stepfunctions) -> None:
    executions, stubber = stepfunctions
    stubber.add_response(
        "stop_execution",
        {"stopDate": "2025-01-01T00:00:00Z"},
        {"executionArn": EXECUTION, "cause": "Cancelled through the API"},
    )
    executions.stop(DISPATCH_UUID)


def test_an_execution_that_does_not_exist_has_nothing_to_stop(stepfunctions) -> None:
    executions, stubber = stepfunctions
    stubber.add_client_error("stop_execution", "ExecutionDoesNotExist")
    executions.stop(DISPATCH_UUID)
