"""The capacity model's arithmetic (benchmarks/capacity.py), on its recorded counts."""

from __future__ import annotations

import pytest

from benchmarks.capacity import MEASURED, cost_per_million, limits, with_callbacks


def binding(counts) -> tuple[str, float]:
    allowed = limits(counts)
    quota = min(allowed, key=allowed.get)
    return quota, allowed[quota]


def test_before_an_execution_open_for_a_day_capped_workflows_that_fail_over_near_11_6_per_second():
    quota, rate = binding(MEASURED["before"]["fails over"])

    assert quota.startswith("open executions")
    assert rate == pytest.approx(1_000_000 / (600 + 86_400))


@pytest.mark.parametrize("scenario", ["fails over", "read in time"])
def test_now_start_execution_binds_not_open_executions(scenario):
    quota, rate = binding(MEASURED["now"][scenario])

    assert quota.startswith("StartExecution")
    assert rate == 300


def test_a_rejected_message_rings_twice_so_send_task_failure_binds_first():
    quota, rate = binding(MEASURED["now"]["rejected"])

    assert quota.startswith("SendTaskFailure")
    assert rate == 250


def test_callbacks_add_a_fifo_queue_that_binds_before_step_functions():
    quota, rate = binding(with_callbacks(MEASURED["now"]["fails over"]))

    assert quota.startswith("callback queue")
    assert rate == 300 / 5  # four statuses and the final report


def test_state_transitions_dominate_the_cost_and_fewer_of_them_cost_less():
    before = cost_per_million(MEASURED["before"]["fails over"])
    now = cost_per_million(MEASURED["now"]["fails over"])

    assert max(now, key=now.get) == "Step Functions (transitions)"
    assert now["Step Functions (transitions)"] == pytest.approx(12 * 25)  # $0.025 per 1,000
    assert sum(now.values()) < sum(before.values())
