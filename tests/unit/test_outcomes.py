"""What a finished workflow counts: its outcome, and per channel the steps started, the failovers
and the time a met condition took (dispatch.domain.outcomes)."""

from __future__ import annotations

import pytest
from fakes import canonical_item

from dispatch.domain.outcomes import workflow_measurements
from dispatch.observability import Measurement, Metric


def finished(status: str, *steps: dict) -> dict:
    item = canonical_item()  # messenger (condition read, expiry 600), then sms
    item["status"] = status
    for step, changes in zip(item["steps"], steps, strict=False):
        step.update(changes)
    return item


SENT = {"send_state": "accepted", "sent_at": "2026-01-01T00:00:00.000Z"}


def test_a_workflow_completed_on_its_first_step_counts_the_time_to_its_condition():
    item = finished(
        "completed", {**SENT, "outcome": "condition_met", "outcome_at": "2026-01-01T00:00:42.500Z"}
    )

    assert workflow_measurements(item) == [
        Measurement(Metric.WORKFLOWS_COMPLETED),
        Measurement(Metric.STEPS_STARTED, channel="messenger"),
        Measurement(Metric.TIME_TO_CONDITION, value=42.5, seconds=True, channel="messenger"),
    ]


@pytest.mark.parametrize("outcome", ["expired", "send_failed", "rejected", "undeliverable"])
def test_a_first_step_that_missed_its_condition_is_a_failover_from_its_channel(outcome):
    item = finished(
        "completed",
        {**SENT, "outcome": outcome, "outcome_at": "2026-01-01T00:10:00.000Z"},
        {**SENT, "outcome": "condition_met", "outcome_at": "2026-01-01T00:10:03.000Z"},
    )
    item["steps"][1]["sent_at"] = "2026-01-01T00:10:01.000Z"

    assert workflow_measurements(item) == [
        Measurement(Metric.WORKFLOWS_COMPLETED),
        Measurement(Metric.STEPS_STARTED, channel="messenger"),
        Measurement(Metric.FAILOVERS, channel="messenger"),
        Measurement(Metric.STEPS_STARTED, channel="sms"),
        Measurement(Metric.TIME_TO_CONDITION, value=2.0, seconds=True, channel="sms"),
    ]


def test_a_failed_last_step_is_an_error_not_a_failover():
    item = finished("error", {**SENT, "outcome": "expired"}, {**SENT, "outcome": "undeliverable"})

    metrics = [m.metric for m in workflow_measurements(item)]

    assert metrics.count(Metric.FAILOVERS) == 1  # from messenger only
    assert metrics[0] == Metric.WORKFLOWS_ERROR


def test_a_step_cancelled_before_it_was_sent_is_not_counted():
    item = finished("cancelled", {**SENT, "outcome": "cancelled"})

    assert workflow_measurements(item) == [
        Measurement(Metric.WORKFLOWS_CANCELLED),
        Measurement(Metric.STEPS_STARTED, channel="messenger"),
    ]


def test_a_workflow_in_progress_counts_nothing():
    assert workflow_measurements(finished("in_progress", SENT)) == []


# -- found by mutation testing (`make mutation`, 2026-11-29) -------------------------------------


def test_the_time_to_the_condition_counts_from_the_send_start_when_the_acceptance_has_no_time():
    item = finished(
        "completed",
        {
            "send_state": "accepted",
            "send_started_at": "2026-01-01T00:00:00.000Z",
            "outcome": "condition_met",
            "outcome_at": "2026-01-01T00:00:10.000Z",
        },
    )
    assert Measurement(Metric.TIME_TO_CONDITION, value=10.0, seconds=True, channel="messenger") in (
        workflow_measurements(item)
    )


def test_a_condition_met_the_moment_it_was_sent_took_zero_seconds():
    item = finished("completed", {**SENT, "outcome": "condition_met", "outcome_at": SENT["sent_at"]})
    assert Measurement(Metric.TIME_TO_CONDITION, value=0.0, seconds=True, channel="messenger") in (
        workflow_measurements(item)
    )
