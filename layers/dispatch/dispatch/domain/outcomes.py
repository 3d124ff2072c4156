"""What a finished workflow tells about the service: its outcome and, per channel, how often a
message was failed over from and how long a met condition took. Counted once per workflow (see
dispatch.integrations.callbacks.deliver); pure, so the numbers are tested without CloudWatch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dispatch.domain.statuses import StepOutcome, WorkflowStatus
from dispatch.observability import Measurement, Metric

OUTCOME_METRICS = {
    WorkflowStatus.COMPLETED: Metric.WORKFLOWS_COMPLETED,
    WorkflowStatus.ERROR: Metric.WORKFLOWS_ERROR,
    WorkflowStatus.CANCELLED: Metric.WORKFLOWS_CANCELLED,
}
# A step that ended this way, with a step after it, made the workflow fail over.
FAILOVER_OUTCOMES = frozenset(
    {StepOutcome.EXPIRED, StepOutcome.SEND_FAILED, StepOutcome.REJECTED, StepOutcome.UNDELIVERABLE}
)


def workflow_measurements(workflow: dict[str, Any]) -> list[Measurement]:
    """The measurements of a finished workflow (none for one still in progress)."""
    metric = OUTCOME_METRICS.get(WorkflowStatus(workflow["status"]))
    if metric is None:
        return []
    measurements = [Measurement(metric)]
    steps = workflow["steps"]
    for index, step in enumerate(steps):
        channel = step["channel"]
        if "send_state" not in step:
            continue  # never sent (cancelled before its turn)
        measurements.append(Measurement(Metric.STEPS_STARTED, channel=channel))
        outcome = step.get("outcome")
        if outcome in FAILOVER_OUTCOMES and index < len(steps) - 1:
            measurements.append(Measurement(Metric.FAILOVERS, channel=channel))
        if outcome == StepOutcome.CONDITION_MET:
            seconds = _seconds_between(
                step.get("sent_at") or step.get("send_started_at"), step.get("outcome_at")
            )
            if seconds is not None:
                measurements.append(
                    Measurement(Metric.TIME_TO_CONDITION, value=seconds, seconds=True, channel=channel)
                )
    return measurements


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None
    return max(0.0, seconds)
