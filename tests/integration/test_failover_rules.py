"""Every failover rule of architecture.md, end to end: HTTP API -> create Lambda -> real ASL on
moto (Wait states and all) -> send Lambda -> sandbox Messages API -> signed status webhooks ->
status Lambda -> DynamoDB, observed through GET /v0.1/workflows/{id} and Step Functions.

All scenarios are submitted at once (they run concurrently, as in production) and each test
then checks one of them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from local_stack.demo import text_step
from tests.integration.helpers import (
    FINAL_STATUS_TIMEOUT,
    messages_sent_for,
    recipient,
    wait_for_end,
    wait_until,
)

EXPIRY = 2  # seconds; the local stack allows less than Dispatch's 15 s minimum
# For "at once" rules: the next message must go well before this expiry.
LONG_EXPIRY = 20


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def duration(workflow: dict) -> float:
    """Seconds from creation to the end, by the workflow's own timestamps."""
    created, finished = (datetime.fromisoformat(workflow[key]) for key in ("created_at", "finished_at"))
    return (finished - created).total_seconds()


def read_within(seconds: int = EXPIRY) -> dict:
    return {"expiry_time": seconds, "condition_status": "read"}


def delivered_within(seconds: int = EXPIRY) -> dict:
    return {"expiry_time": seconds, "condition_status": "delivered"}


@dataclass
class Scenario:
    steps: list[tuple[str, str, dict | None]]  # (channel, recipient suffix, failover)
    status: str
    outcomes: list[str | None]
    sent: int
    texts: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    dispatch_uuid: str = ""

    def body(self) -> dict:
        workflow = []
        for channel, suffix, failover in self.steps:
            to, text = recipient(suffix), f"private text {uuid.uuid4().hex}"
            self.recipients.append(to)
            self.texts.append(text)
            workflow.append(text_step(channel, to, text, failover))
        return {"template": "failover", "workflow": workflow}


def scenarios() -> dict[str, Scenario]:
    return {
        # condition status (or higher) reached before expiry_time -> completed at once
        "read in time completes at once": Scenario(
            [("messenger", "55", read_within(LONG_EXPIRY)), ("sms", "55", None)],
            "completed",
            ["condition_met", None],
            1,
        ),
        "sms delivered in time meets a delivered condition": Scenario(
            [("sms", "01", delivered_within(LONG_EXPIRY)), ("sms", "55", None)],
            "completed",
            ["condition_met", None],
            1,
        ),
        "duplicated, out-of-order statuses (07) complete once": Scenario(
            [("messenger", "07", read_within(LONG_EXPIRY)), ("sms", "55", None)],
            "completed",
            ["condition_met", None],
            1,
        ),
        "429 then accepted (06) is sent once": Scenario(
            [("messenger", "06", read_within(LONG_EXPIRY)), ("sms", "55", None)],
            "completed",
            ["condition_met", None],
            1,
        ),
        # expiry_time passes without the condition -> next step
        "delivered but never read (01) fails over": Scenario(
            [("messenger", "01", read_within()), ("sms", "55", None)],
            "completed",
            ["expired", "condition_met"],
            2,
        ),
        "never delivered (02) fails over": Scenario(
            [("messenger", "02", delivered_within()), ("sms", "55", None)],
            "completed",
            ["expired", "condition_met"],
            2,
        ),
        # rejected / undeliverable before expiry_time -> next step at once
        "rejected (03) fails over at once": Scenario(
            [("messenger", "03", read_within(LONG_EXPIRY)), ("sms", "55", None)],
            "completed",
            ["rejected", "condition_met"],
            2,
        ),
        "undeliverable (04) fails over at once": Scenario(
            [("messenger", "04", read_within(LONG_EXPIRY)), ("sms", "55", None)],
            "completed",
            ["undeliverable", "condition_met"],
            2,
        ),
        "two failovers across three channels": Scenario(
            [("messenger", "01", read_within()), ("whatsapp", "02", read_within()), ("sms", "55", None)],
            "completed",
            ["expired", "expired", "condition_met"],
            3,
        ),
        # provider refuses the send -> next step at once
        "refused send (05) fails over at once": Scenario(
            [("messenger", "05", read_within(LONG_EXPIRY)), ("sms", "55", None)],
            "completed",
            ["send_failed", "condition_met"],
            1,
        ),
        "send failing with 500 (08) fails over after bounded retries": Scenario(
            [("messenger", "08", read_within(LONG_EXPIRY)), ("sms", "55", None)],
            "completed",
            ["send_failed", "condition_met"],
            1,
        ),
        # last step: its final status decides
        "last message rejected ends in error": Scenario(
            [("messenger", "01", read_within()), ("sms", "03", None)], "error", ["expired", "rejected"], 2
        ),
        "last message undeliverable ends in error": Scenario(
            [("messenger", "01", read_within()), ("sms", "04", None)],
            "error",
            ["expired", "undeliverable"],
            2,
        ),
        "last message without a final status ends in error after the timeout": Scenario(
            [("messenger", "01", read_within()), ("sms", "02", None)], "error", ["expired", "expired"], 2
        ),
        # every step failed
        "every send refused ends in error": Scenario(
            [("messenger", "05", read_within(LONG_EXPIRY)), ("sms", "05", None)],
            "error",
            ["send_failed", "send_failed"],
            0,
        ),
    }


@pytest.fixture(scope="module")
def submitted(stack, api) -> dict[str, Scenario]:
    """Submit every scenario at once; each test waits for its own."""
    table = scenarios()
    for scenario in table.values():
        response = api.post(f"{stack.api_url}/v0.1/dispatch", json=scenario.body())
        assert response.status_code == 202, response.text
        scenario.dispatch_uuid = response.json()["dispatch_uuid"]
    return table


@pytest.mark.parametrize("name", list(scenarios()))
def test_failover_rule(name, submitted, stack, api):
    # Given a workflow whose recipients make the sandbox behave as the scenario says
    scenario = submitted[name]

    # When it runs to its end
    workflow = wait_for_end(api, stack, scenario.dispatch_uuid, timeout=30)

    # Then its status, each step's outcome and the messages actually sent are as the rules say
    assert workflow["status"] == scenario.status
    assert [s.get("outcome") for s in workflow["workflow"]] == scenario.outcomes
    assert len(messages_sent_for(stack, scenario.dispatch_uuid)) == scenario.sent
    assert workflow["finished_at"] >= workflow["created_at"]


def test_read_in_time_sends_nothing_more(submitted, stack, api):
    scenario = submitted["read in time completes at once"]
    workflow = wait_for_end(api, stack, scenario.dispatch_uuid)
    # Completed by the webhook before the expiry: the SMS was never sent.
    first = workflow["workflow"][0]
    assert seconds_between(first["sent_at"], workflow["finished_at"]) < LONG_EXPIRY
    assert workflow["workflow"][0]["status"] == "read"
    assert "message_uuid" not in workflow["workflow"][1]


@pytest.mark.parametrize(
    "name", ["rejected (03) fails over at once", "undeliverable (04) fails over at once"]
)
def test_a_failed_message_fails_over_without_waiting_for_its_expiry(name, submitted, stack, api):
    scenario = submitted[name]
    workflow = wait_for_end(api, stack, scenario.dispatch_uuid)
    first, second = workflow["workflow"]
    # The next message went before the first one's expiry_time (timed from the steps themselves:
    # on a busy machine an execution may start seconds after its workflow was created).
    assert seconds_between(first["sent_at"], second["sent_at"]) < LONG_EXPIRY


def test_refused_send_fails_over_without_waiting(submitted, stack, api):
    scenario = submitted["refused send (05) fails over at once"]
    workflow = wait_for_end(api, stack, scenario.dispatch_uuid)
    first, second = workflow["workflow"]
    assert seconds_between(first["outcome_at"], second["sent_at"]) < LONG_EXPIRY  # before the expiry
    assert workflow["workflow"][0]["send_error"]["http_status"] == 422
    assert "message_uuid" not in workflow["workflow"][0]


def test_statuses_never_move_backwards(submitted, stack, api):
    # The sandbox sends read, delivered, read, submitted for recipient ...07.
    scenario = submitted["duplicated, out-of-order statuses (07) complete once"]
    wait_for_end(api, stack, scenario.dispatch_uuid)
    wait_until(
        lambda: (
            len([d for d in stack.sandbox.deliveries if d["client_ref"] == f"{scenario.dispatch_uuid}:0"])
            >= 4
        )
    )
    workflow = api.get(f"{stack.api_url}/v0.1/workflows/{scenario.dispatch_uuid}").json()
    assert workflow["workflow"][0]["status"] == "read"
    assert workflow["status"] == "completed"


def test_rate_limited_send_is_retried_and_sent_once(submitted, stack, api):
    scenario = submitted["429 then accepted (06) is sent once"]
    wait_for_end(api, stack, scenario.dispatch_uuid)
    attempts = [a["http_status"] for a in stack.sandbox.attempts if a["to"] == scenario.recipients[0]]
    assert attempts == [429, 202]


def test_server_errors_are_retried_a_bounded_number_of_times(submitted, stack, api):
    scenario = submitted["send failing with 500 (08) fails over after bounded retries"]
    wait_for_end(api, stack, scenario.dispatch_uuid)
    attempts = [a["http_status"] for a in stack.sandbox.attempts if a["to"] == scenario.recipients[0]]
    assert attempts == [500, 500, 500]


def test_last_message_without_final_status_waits_the_final_timeout(submitted, stack, api):
    scenario = submitted["last message without a final status ends in error after the timeout"]
    workflow = wait_for_end(api, stack, scenario.dispatch_uuid, timeout=30)
    assert workflow["workflow"][1]["status"] == "submitted"
    assert duration(workflow) >= EXPIRY + FINAL_STATUS_TIMEOUT


def _history(stack, dispatch_uuid: str) -> list[dict]:
    stepfunctions = stack.client("stepfunctions")
    arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{dispatch_uuid}"
    return stepfunctions.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def test_every_execution_ends_and_histories_hold_no_pii(submitted, stack, api):
    # Given every scenario has run to its end (including the final-status wait of the last step)
    stepfunctions = stack.client("stepfunctions")
    for scenario in submitted.values():
        wait_for_end(api, stack, scenario.dispatch_uuid, timeout=30)
    arn_prefix = stack.state_machine_arn.replace(":stateMachine:", ":execution:")

    def all_succeeded():
        return all(
            stepfunctions.describe_execution(executionArn=f"{arn_prefix}:{s.dispatch_uuid}")["status"]
            == "SUCCEEDED"
            for s in submitted.values()
        )

    # Then no execution is left running or failed
    wait_until(all_succeeded, timeout=LONG_EXPIRY + FINAL_STATUS_TIMEOUT + 15, interval=0.5)

    # And no history mentions a message text, a phone number or a PSID
    for scenario in submitted.values():
        history = json.dumps(_history(stack, scenario.dispatch_uuid), default=str)
        assert scenario.dispatch_uuid in history  # the scan reads real histories
        for secret in scenario.texts + scenario.recipients:
            assert secret not in history


def test_execution_is_named_by_dispatch_uuid_and_reads_as_sentences(submitted, stack, api):
    scenario = submitted["delivered but never read (01) fails over"]
    wait_for_end(api, stack, scenario.dispatch_uuid)
    executions = stack.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)[
        "executions"
    ]
    assert scenario.dispatch_uuid in {e["name"] for e in executions}
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in _history(stack, scenario.dispatch_uuid)
        if "stateEnteredEventDetails" in e
    ]
    # The race's two branches enter in either order.
    assert entered[:2] == ["Send message", "Wait for condition or expiry"]
    assert sorted(entered[2:4]) == ["Wait for a deciding status", "Wait until expiry"]
    assert entered[4:8] == ["Message expired", "Fail over to next message", "Next message", "Send message"]
