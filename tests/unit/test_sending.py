"""Sending one step's message at most once, whatever retries happen (dispatch.domain.sending),
with the real WorkflowRepository on moto and a scripted Messages API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from dynamodb import items
from fakes import (
    DISPATCH_UUID,
    EXPIRY_TIME,
    MESSENGER_TEXT,
    PAGE_ID,
    PII,
    PSID,
    SMS_FROM,
    SMS_TEXT,
    SMS_TO,
    STATUS_WEBHOOK_URL,
    ScriptedMessagesApi,
    stored_canonical_workflow,
)

from dispatch.clock import iso
from dispatch.domain.sending import InvalidTaskInput, SendOutcome, SendTask, WorkflowNotFound, send_step
from dispatch.domain.statuses import client_ref, parse_client_ref
from dispatch.integrations.messages_api import SendResult
from dispatch.storage.workflow_repository import WorkflowRepository

NOW = datetime(2025, 1, 2, 3, 5, 0, tzinfo=UTC)
FINAL_STATUS_TIMEOUT = 86400
MESSAGE_UUID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
REFUSAL = {"http_status": 422, "type": "https://developer.vonage.com/api-errors#invalid", "title": "Invalid"}


@pytest.fixture
def workflows(workflows: WorkflowRepository) -> WorkflowRepository:
    """The repository, holding the canonical workflow."""
    stored_canonical_workflow(workflows)
    return workflows


def send(workflows, messages: ScriptedMessagesApi, step_index: int = 0, **options) -> SendOutcome:
    options.setdefault("final_status_timeout", FINAL_STATUS_TIMEOUT)
    return send_step(
        DISPATCH_UUID,
        step_index,
        workflows=workflows,
        messages_api=lambda: messages,
        now=lambda: NOW,
        **options,
    )


def step(workflows, index: int) -> dict[str, Any]:
    return workflows.get(DISPATCH_UUID)["steps"][index]


# -- client_ref --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dispatch_uuid", "index"), [(DISPATCH_UUID, 0), (DISPATCH_UUID, 9), ("a:b", 12), ("x", 0)]
)
def test_a_client_ref_names_the_workflow_and_step_and_parses_back(dispatch_uuid: str, index: int) -> None:
    ref = client_ref(dispatch_uuid, index)
    assert ref == f"{dispatch_uuid}:{index}"
    assert parse_client_ref(ref) == (dispatch_uuid, index)


@pytest.mark.parametrize("value", [None, "", "no-separator", ":1", f"{DISPATCH_UUID}:", "uuid:x", "uuid:-1"])
def test_a_client_ref_that_is_not_ours_parses_to_none(value) -> None:
    assert parse_client_ref(value) is None


# -- the first send ----------------------------------------------------------------------------


def test_the_first_call_sends_once_and_records_the_acceptance(workflows) -> None:
    # Given a new workflow and a provider that accepts the message
    messages = ScriptedMessagesApi(SendResult(accepted=True, message_uuid=MESSAGE_UUID))
    # When its first step is sent
    outcome = send(workflows, messages)
    # Then one message went out, and the step's wait is its expiry_time
    assert outcome == SendOutcome(
        accepted=True, wait_seconds=EXPIRY_TIME, message_uuid=MESSAGE_UUID, provider="accepted"
    )
    assert len(messages.sent) == 1
    # And the step records the acceptance, findable by the message_uuid
    stored = step(workflows, 0)
    assert (stored["send_state"], stored["message_uuid"], stored["sent_at"]) == (
        "accepted",
        MESSAGE_UUID,
        iso(NOW),
    )
    assert workflows.find_step_by_message_uuid(MESSAGE_UUID) == (DISPATCH_UUID, 0)
    assert "message_uuid" not in step(workflows, 1)


def test_the_task_output_holds_no_message_content_or_address(workflows) -> None:
    outcome = send(workflows, ScriptedMessagesApi(SendResult(accepted=True, message_uuid=MESSAGE_UUID)))
    output = outcome.as_task_output()
    assert output == {"accepted": True, "wait_seconds": EXPIRY_TIME, "message_uuid": MESSAGE_UUID}
    assert not [value for value in PII if value in json.dumps(output)]


@pytest.mark.parametrize(
    ("index", "channel", "sender", "recipient", "text"),
    [(0, "messenger", PAGE_ID, PSID, MESSENGER_TEXT), (1, "sms", SMS_FROM, SMS_TO, SMS_TEXT)],
)
def test_the_provider_gets_the_steps_v1_body_with_its_client_ref_and_webhook_url(
    workflows, index, channel, sender, recipient, text
) -> None:
    messages = ScriptedMessagesApi(SendResult(accepted=True, message_uuid=MESSAGE_UUID))

    send(workflows, messages, step_index=index)

    [body] = messages.sent
    assert body["channel"] == channel
    assert (body["from"], body["to"]) == (sender, recipient)
    assert (body["message_type"], body["text"]) == ("text", text)
    assert body["client_ref"] == f"{DISPATCH_UUID}:{index}"
    assert body["webhook_url"] == STATUS_WEBHOOK_URL


def test_without_a_stored_webhook_url_the_body_carries_none(table) -> None:
    workflows = WorkflowRepository(table)
    stored_canonical_workflow(workflows, status_webhook_url=None)
    messages = ScriptedMessagesApi(SendResult(accepted=True, message_uuid=MESSAGE_UUID))

    send(workflows, messages)

    assert "webhook_url" not in messages.sent[0]


@pytest.mark.parametrize(
    ("index", "final_status_timeout", "wait"), [(0, 86400, EXPIRY_TIME), (1, 86400, 86400), (1, 3600, 3600)]
)
def test_the_wait_is_the_expiry_time_or_the_final_status_timeout_for_the_last_step(
    workflows, index: int, final_status_timeout: int, wait: int
) -> None:
    messages = ScriptedMessagesApi(SendResult(accepted=True, message_uuid=MESSAGE_UUID))
    outcome = send(workflows, messages, step_index=index, final_status_timeout=final_status_timeout)
    assert outcome.wait_seconds == wait


# -- retries never send twice ------------------------------------------------------------------


def test_a_retried_call_for_the_same_step_does_not_send_again_and_reuses_the_message_uuid(workflows) -> None:
    # Given a step already sent and accepted
    messages = ScriptedMessagesApi(SendResult(accepted=True, message_uuid=MESSAGE_UUID))
    first = send(workflows, messages)
    # When the same step is sent again (a Lambda or Step Functions retry)
    retry = send(workflows, messages)
    # Then nothing more goes out, and the retry answers like the first call
    assert len(messages.sent) == 1
    assert first == SendOutcome(
        accepted=True, wait_seconds=EXPIRY_TIME, message_uuid=MESSAGE_UUID, provider="accepted"
    )
    # The retry sent nothing: nothing for the provider metrics either.
    assert retry == SendOutcome(accepted=True, wait_seconds=EXPIRY_TIME, message_uuid=MESSAGE_UUID)


def test_a_retry_after_an_attempt_that_never_recorded_its_result_does_not_send(workflows) -> None:
    # Given an attempt that claimed the step, then died before the provider's answer was stored
    assert workflows.claim_send(DISPATCH_UUID, 0, iso(NOW))
    messages = ScriptedMessagesApi(SendResult(accepted=True, message_uuid=MESSAGE_UUID))
    # When the step is sent again
    outcome = send(workflows, messages)
    # Then it does not risk a duplicate: no send, and the state machine waits for statuses
    assert messages.sent == []
    assert outcome == SendOutcome(accepted=True, wait_seconds=EXPIRY_TIME, message_uuid=None)


def test_sending_the_next_step_is_independent_of_the_first(workflows) -> None:
    messages = ScriptedMessagesApi(
        SendResult(accepted=True, message_uuid=MESSAGE_UUID), SendResult(accepted=True, message_uuid="second")
    )
    send(workflows, messages, step_index=0)
    outcome = send(workflows, messages, step_index=1)
    assert [body["client_ref"] for body in messages.sent] == [f"{DISPATCH_UUID}:0", f"{DISPATCH_UUID}:1"]
    assert outcome.message_uuid == "second"
    assert workflows.find_step_by_message_uuid("second") == (DISPATCH_UUID, 1)


# -- refused and unknown sends -----------------------------------------------------------------


def test_a_refused_send_fails_over_at_once_and_records_send_failed(workflows, table) -> None:
    # Given a provider that refuses the message
    messages = ScriptedMessagesApi(SendResult(accepted=False, error=REFUSAL))
    # When the step is sent
    outcome = send(workflows, messages)
    # Then the state machine is told to fail over without waiting
    assert outcome == SendOutcome(accepted=False, wait_seconds=0, message_uuid=None, provider="refused")
    # And the step records the failure (and no message_uuid)
    stored = step(workflows, 0)
    assert (stored["send_state"], stored["send_error"]) == ("failed", REFUSAL)
    assert "message_uuid" not in stored
    assert not [item for item in items(table) if item["pk"].startswith("MESSAGE#")]


def test_a_retry_after_a_refused_send_does_not_send_again_and_is_still_refused(workflows) -> None:
    messages = ScriptedMessagesApi(SendResult(accepted=False, error=REFUSAL))
    send(workflows, messages)

    retry = send(workflows, messages)

    assert len(messages.sent) == 1
    assert retry.accepted is False
    assert retry.message_uuid is None


def test_an_unknown_outcome_waits_for_statuses_and_is_never_sent_again(workflows) -> None:
    # Given a provider that took the request but never answered
    messages = ScriptedMessagesApi(
        SendResult(accepted=False, unknown=True, error={"title": "No answer in time"})
    )
    # When the step is sent, then retried
    outcome = send(workflows, messages)
    retry = send(workflows, messages)
    # Then the message may have gone out: wait for its statuses rather than fail over or resend
    assert outcome == SendOutcome(
        accepted=True, wait_seconds=EXPIRY_TIME, message_uuid=None, provider="error"
    )
    assert (retry.accepted, retry.provider) == (True, None)  # counted once, when it happened
    assert len(messages.sent) == 1
    assert step(workflows, 0).get("send_state") != "failed"


@pytest.mark.parametrize(
    ("error", "provider"),
    [
        ({"http_status": 422, "title": "Invalid params"}, "refused"),
        ({"http_status": 401, "title": "Unauthorized"}, "refused"),  # our credentials: refused too
        ({"http_status": 503, "title": "Unavailable"}, "error"),
        ({"http_status": 429, "title": "Too many requests"}, "error"),
        ({"title": "Connection failed", "detail": "ConnectionError"}, "error"),
    ],
)
def test_a_failed_send_says_whether_the_provider_refused_it_or_could_not_take_it(workflows, error, provider):
    outcome = send(workflows, ScriptedMessagesApi(SendResult(accepted=False, error=error)))

    assert (outcome.accepted, outcome.provider) == (False, provider)


# -- nothing to send ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "error"])
def test_a_workflow_no_longer_in_progress_sends_nothing_and_does_not_wait(
    workflows, table, status: str
) -> None:
    # Given a workflow already decided (e.g. completed by a status during a retry)
    table.update_item(
        Key={"pk": f"WORKFLOW#{DISPATCH_UUID}"},
        UpdateExpression="SET #status = :status",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":status": status},
    )
    messages = ScriptedMessagesApi(SendResult(accepted=True, message_uuid=MESSAGE_UUID))
    # When a step is sent
    outcome = send(workflows, messages, step_index=1)
    # Then nothing goes out, nothing is claimed, and the state machine reads the outcome at once
    assert messages.sent == []
    assert outcome.wait_seconds == 0
    assert "send_state" not in step(workflows, 1)


def test_a_workflow_that_is_not_stored_is_reported_and_nothing_is_sent(table) -> None:
    messages = ScriptedMessagesApi(SendResult(accepted=True, message_uuid=MESSAGE_UUID))
    with pytest.raises(WorkflowNotFound):
        send(WorkflowRepository(table), messages)
    assert messages.sent == []


# -- the task input ---------------------------------------------------------------------------------


def test_the_task_input_is_read_as_ids_and_other_fields_are_ignored() -> None:
    task = SendTask.from_input({"dispatch_uuid": DISPATCH_UUID, "step_index": 1, "last_step_index": 1})
    assert task == SendTask(DISPATCH_UUID, 1)


@pytest.mark.parametrize(
    ("task", "refused"),
    [
        ({"dispatch_uuid": "", "step_index": 0}, ["dispatch_uuid"]),
        ({"dispatch_uuid": "x" * 65, "step_index": 0}, ["dispatch_uuid"]),
        ({"dispatch_uuid": 7, "step_index": 0}, ["dispatch_uuid"]),
        ({"dispatch_uuid": "x", "step_index": -1}, ["step_index"]),
        ({"dispatch_uuid": "x", "step_index": "0"}, ["step_index"]),
        ({"dispatch_uuid": "x", "step_index": True}, ["step_index"]),
        ({"dispatch_uuid": "x", "step_index": 1.0}, ["step_index"]),
        ({}, ["dispatch_uuid", "step_index"]),
        (["x", 0], ["dispatch_uuid", "step_index"]),
    ],
)
def test_a_task_input_that_is_not_ids_is_refused_naming_each_field(task, refused) -> None:
    with pytest.raises(InvalidTaskInput) as raised:
        SendTask.from_input(task)
    assert [name for name, _ in raised.value.errors] == refused
    assert "x" * 65 not in str(raised.value)


def test_the_longest_dispatch_uuid_and_step_zero_are_read() -> None:
    assert SendTask.from_input({"dispatch_uuid": "x" * 64, "step_index": 0}) == SendTask("x" * 64, 0)


def test_a_refused_task_input_says_why_for_each_field() -> None:
    with pytest.raises(InvalidTaskInput) as raised:
        SendTask.from_input({"dispatch_uuid": "", "step_index": -1})
    assert raised.value.errors == [
        ("dispatch_uuid", "must be a string of 1 to 64 characters"),
        ("step_index", "must be a whole number of at least 0"),
    ]
    assert str(raised.value) == (
        "dispatch_uuid must be a string of 1 to 64 characters; "
        "step_index must be a whole number of at least 0"
    )
