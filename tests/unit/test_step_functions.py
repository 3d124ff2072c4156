"""Waking an execution (dispatch.integrations.step_functions): best effort, and the task token is
never logged."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from dispatch.integrations.step_functions import ExecutionWaker, token_fingerprint
from dispatch.observability import logger


@pytest.fixture
def logs(caplog) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=logger.name)
    return caplog


def logged_text(logs: pytest.LogCaptureFixture) -> str:
    return " ".join(f"{record.getMessage()} {record.__dict__}" for record in logs.records)


TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAeFaKeToKeN" * 8  # tokens run to hundreds of characters


class FakeStepFunctions:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.calls: list[dict] = []

    def send_task_failure(self, **request) -> dict:
        self.calls.append(request)
        if self.failure:
            raise self.failure
        return {}


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "SendTaskFailure")


def test_a_ring_ends_the_task_with_the_named_error(logs):
    stepfunctions = FakeStepFunctions()

    assert ExecutionWaker(stepfunctions).ring(TOKEN, "Step.WorkflowEnded", "completed: read") is True

    assert stepfunctions.calls == [
        {"taskToken": TOKEN, "error": "Step.WorkflowEnded", "cause": "completed: read"}
    ]
    assert logs.records
    assert TOKEN[:40] not in logged_text(logs)


@pytest.mark.parametrize(
    "failure",
    [
        client_error("InvalidToken"),
        client_error("TaskTimedOut"),
        client_error("TaskDoesNotExist"),
        client_error("ThrottlingException"),
        EndpointConnectionError(endpoint_url="https://states.example"),
    ],
    ids=["InvalidToken", "TaskTimedOut", "TaskDoesNotExist", "Throttling", "no connection"],
)
def test_a_failed_ring_is_logged_by_fingerprint_and_raises_nothing(logs, failure):
    waker = ExecutionWaker(FakeStepFunctions(failure))

    assert waker.ring(TOKEN, "Step.MessageFailed", "rejected") is False

    (record,) = [r for r in logs.records if r.getMessage() == "Execution not woken"]
    assert record.token == token_fingerprint(TOKEN)
    assert TOKEN[:40] not in logged_text(logs)


def test_a_fingerprint_is_short_and_stable():
    assert token_fingerprint(TOKEN) == token_fingerprint(TOKEN)
    assert len(token_fingerprint(TOKEN)) == 12
    assert token_fingerprint(TOKEN) != token_fingerprint(TOKEN + "x")
