"""Powertools logger, tracer and metrics shared by every function (one place to configure them),
and the application's metric names.

Service name and namespace come from POWERTOOLS_* environment variables set in template.yaml.
Every metric has the `service` dimension (Powertools adds it); some also have `Channel`. No
dimension is ever per workflow, account or recipient: dimensions multiply CloudWatch's bill and
must not carry identifiers. The template's dashboard and alarms read these names (a test checks
that every metric they read is emitted here, with the same dimensions).
"""

from collections.abc import Iterable
from enum import StrEnum
from typing import NamedTuple

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

logger = Logger()
# Not Powertools' default patch_all, which imports and patches every library X-Ray knows
# (sqlite3, httplib, ...) at each cold start: what a function calls is patched when it first
# calls it, botocore with the first boto3 client (dispatch.aws), requests with trace_http().
tracer = Tracer(auto_patch=False)
metrics = Metrics()


def trace_http() -> None:
    """X-Ray subsegments for the HTTP calls made with requests (a no-op once done, or when tracing
    is off, as outside Lambda)."""
    tracer.patch(["requests"])


CHANNEL_DIMENSION = "Channel"


class Metric(StrEnum):
    # Workflows (the outcomes are counted once per workflow, when its final report is stored).
    WORKFLOWS_CREATED = "WorkflowsCreated"
    WORKFLOWS_COMPLETED = "WorkflowsCompleted"
    WORKFLOWS_ERROR = "WorkflowsError"
    WORKFLOWS_CANCELLED = "WorkflowsCancelled"
    # Per channel (Channel dimension), from each finished workflow's steps.
    STEPS_STARTED = "StepsStarted"
    FAILOVERS = "Failovers"
    TIME_TO_CONDITION = "TimeToCondition"
    # Sends to the Messages API.
    MESSAGES_ACCEPTED = "MessagesAccepted"
    MESSAGES_REFUSED = "MessagesRefused"
    MESSAGE_PROVIDER_ERRORS = "MessageProviderErrors"
    # Status webhooks posted by the Messages API.
    STATUS_WEBHOOKS_ACCEPTED = "StatusWebhooksAccepted"
    STATUS_WEBHOOKS_REFUSED = "StatusWebhooksRefused"
    # Callbacks to customers.
    CALLBACKS_DELIVERED = "CallbacksDelivered"
    CALLBACKS_RETRIED = "CallbacksRetried"
    CALLBACKS_DROPPED = "CallbacksDropped"
    CALLBACKS_DEAD_LETTERED = "CallbacksDeadLettered"
    # Workflows found in progress past their deadline and ended by the reconciler (lifecycle);
    # any is worth an alarm (WorkflowsStuckAlarm).
    WORKFLOWS_RECONCILED = "WorkflowsReconciled"


# The metrics that carry the Channel dimension (and only those: CloudWatch treats each set of
# dimensions as another metric, so one name always has the same dimensions).
CHANNEL_METRICS = frozenset({Metric.STEPS_STARTED, Metric.FAILOVERS, Metric.TIME_TO_CONDITION})


def count(metric: Metric, value: float = 1) -> None:
    """Add to a metric with only the service dimension (published when the handler returns)."""
    if metric in CHANNEL_METRICS:
        raise ValueError(f"{metric} is recorded by channel")
    metrics.add_metric(name=metric.value, unit=MetricUnit.Count, value=value)


def record_by_channel(
    metric: Metric, channel: str, value: float = 1, unit: MetricUnit = MetricUnit.Count
) -> None:
    """Publish one value of a metric with the Channel dimension (its own EMF record: one record
    holds one set of dimensions)."""
    if metric not in CHANNEL_METRICS:
        raise ValueError(f"{metric} has no Channel dimension")
    one = EphemeralMetrics()
    one.add_dimension(name=CHANNEL_DIMENSION, value=channel)
    one.add_metric(name=metric.value, unit=unit, value=value)
    one.flush_metrics()


class Measurement(NamedTuple):
    """One value of a metric, for code that decides what to measure without publishing it."""

    metric: Metric
    value: float = 1
    seconds: bool = False
    channel: str | None = None


def record(measurements: Iterable[Measurement]) -> None:
    for measurement in measurements:
        if measurement.channel is None:
            count(measurement.metric, measurement.value)
        else:
            unit = MetricUnit.Seconds if measurement.seconds else MetricUnit.Count
            record_by_channel(measurement.metric, measurement.channel, measurement.value, unit)
