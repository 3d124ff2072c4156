"""The metrics the running functions print (CloudWatch embedded metric format) are the ones the
dashboard and the alarms read, with the same names and dimensions.

The local stack disables Powertools metrics (they would flood the console); this test turns them
on in the functions' worker processes (LambdaRuntime.record_metrics: the workers send back the
EMF records their invocations printed), runs workflows through every outcome the dashboard
shows, and reads those records.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict

import pytest
import requests

from dispatch.observability import Metric
from local_stack.deploy import load_template
from local_stack.receiver import CallbackReceiver
from tests.integration.helpers import messenger_then_sms, start_workflow, wait_for_end, wait_until
from tests.unit.test_operations import alarm_metrics, dashboard_body, dashboard_metrics, resources_of_type

NAMESPACE = "WorkflowsApi"
# Read by the dashboard or an alarm but not produced by these workflows, and why.
NOT_EXERCISED = {
    Metric.WORKFLOWS_RECONCILED.value: "emitted by the lifecycle reconciler, not by these functions",
}


def read_by_operations() -> set[tuple[str, frozenset[str]]]:
    """(metric name, dimension names) of every application metric the template reads."""
    template = load_template()
    read = dashboard_metrics(dashboard_body(template)[0])
    for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values():
        read += alarm_metrics(alarm)
    return {(name, frozenset(dimensions)) for namespace, name, dimensions in read if namespace == NAMESPACE}


class Printed:
    """The EMF records printed so far: metric name -> [(dimension names, values)]."""

    def __init__(self, runtime) -> None:
        self._runtime = runtime
        self._seen = 0
        self.records: dict[str, list[tuple[frozenset[str], dict]]] = defaultdict(list)

    def read(self) -> Printed:
        new = self._runtime.emf_records[self._seen :]
        self._seen += len(new)
        for record in new:
            (directive,) = record["_aws"]["CloudWatchMetrics"]
            for dimensions in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    values = {name: record[name] for name in dimensions}
                    self.records[metric["Name"]].append((frozenset(dimensions), values))
                    assert directive["Namespace"] == NAMESPACE
        return self

    def names(self) -> set[str]:
        return set(self.records)


@pytest.fixture
def printed(stack):
    stack.runtime.emf_records.clear()
    stack.runtime.record_metrics = True
    try:
        yield Printed(stack.runtime)
    finally:
        stack.runtime.record_metrics = False


def test_the_functions_emit_every_metric_the_dashboard_and_alarms_read(stack, printed, api):
    expected = read_by_operations()
    receiver = CallbackReceiver().start()
    receiver.down = True  # until it refused a callback: that one is retried
    try:
        # Completed after a failover from Messenger (never read) to SMS: sends accepted, statuses,
        # a failover and a time to condition, callbacks retried then delivered.
        completed = start_workflow(
            api, stack, messenger_then_sms("01", "55", expiry=1, callback=receiver.url)
        )
        # The provider fails (500 on every try) then refuses (422): provider errors, a refused send,
        # and an error; its callbacks get a 404 (the local API has no such route): dropped.
        failed = start_workflow(
            api, stack, messenger_then_sms("08", "05", expiry=1, callback=f"{stack.api_url}/no-such-receiver")
        )
        cancelled = start_workflow(api, stack, messenger_then_sms("02", expiry=30))
        assert api.delete(f"{stack.api_url}/v0.1/workflows/{cancelled}").status_code == 200
        # A status nobody signed.
        assert requests.post(f"{stack.api_url}/webhooks/message-status", json={}).status_code == 401
        # An account whose callback URL (stored before the check existed) aims inward: dead-lettered.
        inward = inward_callback_account(stack)
        dead_lettered = start_workflow(inward, stack, messenger_then_sms("55"))

        wait_until(lambda: receiver.refused >= 1, timeout=30)
        receiver.down = False
        for dispatch_uuid, session in ((completed, api), (failed, api), (dead_lettered, inward)):
            wait_for_end(session, stack, dispatch_uuid, timeout=30)
        wanted = {name for name, _ in expected} - set(NOT_EXERCISED)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: printed.read().names() >= wanted, timeout=30, interval=0.5)
    finally:
        receiver.stop()

    assert wanted - printed.names() == set(), "read by the dashboard or an alarm, never printed"

    for name, dimensions in expected:
        if name in NOT_EXERCISED:
            continue
        shapes = {shape for shape, _ in printed.records[name]}
        assert shapes == {dimensions}, name
        for _, values in printed.records[name]:
            assert values["service"] == stack.settings.stack_name, name


def inward_callback_account(stack) -> requests.Session:
    api_key = f"metrics-{uuid.uuid4().hex[:8]}"
    account_id = f"acct-{uuid.uuid4()}"
    stack.create_account(api_key, "secret", account_id=account_id)
    stack.session().resource("dynamodb").Table(stack.table_name).update_item(
        Key={"pk": f"ACCOUNT#{account_id}"},
        UpdateExpression="SET callback_url = :url",
        ExpressionAttributeValues={":url": "https://10.0.0.1/callbacks"},
    )
    session = requests.Session()
    session.auth = (api_key, "secret")
    return session
