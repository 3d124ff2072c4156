"""What an operator relies on in template.yaml: the dashboard and the alarms read metrics the code
emits (names and dimensions), every function logs to a log group with a retention, alarms notify
only where a destination is given, and the status webhook's reserved concurrency is optional.

The metrics the code emits are found in its source (AST): dispatch.observability's `count` and
`record_by_channel` calls name a `Metric` member, and only those metrics in CHANNEL_METRICS carry
the Channel dimension (the helpers refuse anything else). tests/integration/test_metrics.py
checks the same against what the running functions actually print.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest

from dispatch.domain.channels import Channel
from dispatch.observability import CHANNEL_DIMENSION, CHANNEL_METRICS, Metric
from local_stack.deploy import ROOT, load_template

NAMESPACE = "WorkflowsApi"
SERVICE = "service"
# Metrics of this namespace emitted by code that is not (yet) in this repository, with who emits it.
EMITTED_ELSEWHERE = {Metric.WORKFLOWS_RECONCILED: "the lifecycle reconciler (issue 7)"}
CODE = [*ROOT.glob("functions/*/app.py"), *ROOT.glob("layers/dispatch/dispatch/**/*.py")]
_PLACEHOLDER = re.compile(r"\$\{([^}!][^}]*)\}")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


# --- what the code emits ---------------------------------------------------------------------------


def metric_members_used(path: Path) -> set[Metric]:
    """`Metric.X` references in a module (the enum's own definition aside)."""
    tree = ast.parse(path.read_text())
    return {
        Metric[node.attr]
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Metric"
    }


def raw_add_metric_calls(path: Path) -> list[int]:
    """Lines calling add_metric directly (only dispatch.observability may)."""
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add_metric"
    ]


def emitted() -> dict[str, frozenset[str]]:
    """Metric name -> its dimension names, for every metric the code emits."""
    used = set().union(*(metric_members_used(path) for path in CODE if path.name != "observability.py"))
    return {
        metric.value: frozenset({SERVICE, CHANNEL_DIMENSION} if metric in CHANNEL_METRICS else {SERVICE})
        for metric in used
    }


def test_metrics_are_emitted_only_through_the_helpers_that_fix_their_dimensions():
    for path in CODE:
        if path.name != "observability.py":
            assert raw_add_metric_calls(path) == [], path


def test_every_metric_name_is_used_by_the_code_or_emitted_elsewhere():
    unused = {metric for metric in Metric if metric.value not in emitted()}

    # (Once the reconciler is in this repository and uses Metric.WORKFLOWS_RECONCILED, its
    # EMITTED_ELSEWHERE entry can go.)
    assert unused <= set(EMITTED_ELSEWHERE)


# --- what the dashboard and the alarms read --------------------------------------------------------


def dashboard_body(template: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The dashboard JSON, with `${...}` references replaced by `<name>`, and the names."""
    (dashboard,) = resources_of_type(template, "AWS::CloudWatch::Dashboard").values()
    text = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(_PLACEHOLDER.findall(text))
    return json.loads(_PLACEHOLDER.sub(lambda m: f"<{m.group(1)}>", text)), names


def dashboard_metrics(body: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, name, dimensions) of every metric line of every widget (expressions aside)."""
    lines = []
    for widget in body["widgets"]:
        for line in widget["properties"].get("metrics", []):
            fields = [field for field in line if not isinstance(field, dict)]
            if not fields:
                continue  # a math expression: {"expression": ...}
            namespace, name, *dimensions = fields
            lines.append((namespace, name, dict(zip(dimensions[::2], dimensions[1::2], strict=True))))
    return lines


def alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    properties = alarm["Properties"]
    if "MetricName" in properties:
        stats = [properties]
    else:
        stats = [query["MetricStat"]["Metric"] for query in properties["Metrics"] if "MetricStat" in query]
    return [
        (stat["Namespace"], stat["MetricName"], {d["Name"]: d["Value"] for d in stat.get("Dimensions", [])})
        for stat in stats
    ]


def test_the_dashboard_and_alarms_read_only_metrics_the_code_emits_with_their_dimensions(template):
    body, _ = dashboard_body(template)
    read = dashboard_metrics(body)
    for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values():
        read += alarm_metrics(alarm)
    code = emitted()

    ours = [(name, dimensions) for namespace, name, dimensions in read if namespace == NAMESPACE]
    assert ours
    for name, dimensions in ours:
        expected = code.get(name) or (
            frozenset({SERVICE}) if name in {m.value for m in EMITTED_ELSEWHERE} else None
        )
        assert expected is not None, f"{name} is read but no code emits it"
        assert frozenset(dimensions) == expected, name
        # The service dimension is the stack (POWERTOOLS_SERVICE_NAME), as the functions set it.
        assert dimensions[SERVICE] in ("<AWS::StackName>", {"Ref": "AWS::StackName"}), name


def test_the_functions_service_name_is_the_stack_the_dashboard_reads(template):
    environment = template["Globals"]["Function"]["Environment"]["Variables"]

    assert environment["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE


def test_the_dashboard_shows_every_application_metric_and_every_channel(template):
    body, _ = dashboard_body(template)
    shown = {(name, dimensions.get(CHANNEL_DIMENSION)) for ns, name, dimensions in dashboard_metrics(body)}

    for metric in Metric:
        if metric in CHANNEL_METRICS:
            for channel in get_args(Channel):
                assert (metric.value, channel) in shown, (metric, channel)
        else:
            assert (metric.value, None) in shown, metric


def test_the_dashboard_covers_every_function_the_api_the_executions_and_the_dead_letters(template):
    body, names = dashboard_body(template)
    lines = dashboard_metrics(body)

    for function in resources_of_type(template, "AWS::Serverless::Function"):
        for metric in ("Errors", "Throttles", "Duration"):
            assert ("AWS/Lambda", metric, {"FunctionName": f"<{function}>"}) in lines, (function, metric)
    for metric in ("4xx", "5xx", "Latency"):
        assert ("AWS/ApiGateway", metric, {"ApiId": "<HttpApi>"}) in lines, metric
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        assert ("AWS/States", metric, {"StateMachineArn": "<WorkflowStateMachine>"}) in lines, metric
    dead_letters = {"QueueName": "<CallbackDeadLetterQueue.QueueName>"}
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dead_letters) in lines
    # Every reference resolves to a resource or a pseudo parameter of the template.
    for name in names:
        assert name.startswith("AWS::") or name.split(".")[0] in template["Resources"], name


def test_the_dashboards_alarm_widget_lists_every_alarm(template):
    body, _ = dashboard_body(template)
    (widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]

    alarms = {f"<{logical_id}.Arn>" for logical_id in resources_of_type(template, "AWS::CloudWatch::Alarm")}
    assert set(widget["properties"]["alarms"]) == alarms


# --- alarms ----------------------------------------------------------------------------------------

EXPECTED_ALARMS = {
    # alarm -> (namespace, metrics it reads)
    "CallbackDeadLetterAlarm": ("AWS/SQS", {"ApproximateNumberOfMessagesVisible"}),
    "ExecutionsFailedAlarm": ("AWS/States", {"ExecutionsFailed", "ExecutionsTimedOut"}),
    "Api5xxAlarm": ("AWS/ApiGateway", {"5xx"}),
    "StatusWebhooksRefusedAlarm": (NAMESPACE, {"StatusWebhooksRefused", "StatusWebhooksAccepted"}),
    "SendsFailingAlarm": (NAMESPACE, {"MessagesAccepted", "MessagesRefused", "MessageProviderErrors"}),
    "WorkflowsStuckAlarm": (NAMESPACE, {"WorkflowsReconciled"}),
}


def test_the_alarms_watch_what_the_issue_asks_for(template):
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")

    assert set(alarms) == set(EXPECTED_ALARMS)
    for logical_id, (namespace, names) in EXPECTED_ALARMS.items():
        read = alarm_metrics(alarms[logical_id])
        assert {ns for ns, _, _ in read} == {namespace}, logical_id
        assert {name for _, name, _ in read} == names, logical_id


def test_alarms_notify_the_optional_email_topic_and_sns_topic_only(template):
    topic = template["Resources"]["AlarmTopic"]
    assert topic["Condition"] == "HasAlarmEmail"
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""
    expected = [
        {"Fn::If": ["HasAlarmEmail", {"Ref": "AlarmTopic"}, {"Ref": "AWS::NoValue"}]},
        {"Fn::If": ["HasAlarmTopicArn", {"Ref": "AlarmTopicArn"}, {"Ref": "AWS::NoValue"}]},
    ]
    for logical_id, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == expected, logical_id
        # No data (a quiet night) is not an alarm.
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching", logical_id


def test_alarms_that_divide_do_so_only_above_a_minimum_count(template):
    for logical_id, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items():
        for query in alarm["Properties"].get("Metrics", []):
            expression = query.get("Expression", "")
            if "/" in expression:
                assert expression.startswith("IF("), (logical_id, expression)


# --- log groups ------------------------------------------------------------------------------------


def test_every_function_logs_to_its_own_log_group_with_the_retention_parameter(template):
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
    used = []
    for logical_id, function in resources_of_type(template, "AWS::Serverless::Function").items():
        log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_group in log_groups, logical_id
        assert log_groups[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        used.append(log_group)
    assert len(used) == len(set(used))
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_every_log_group_of_the_stack_has_a_retention(template):
    for logical_id, log_group in resources_of_type(template, "AWS::Logs::LogGroup").items():
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical_id


# --- status webhook concurrency --------------------------------------------------------------------


def test_the_status_webhooks_reserved_concurrency_is_off_unless_set(template):
    parameter = template["Parameters"]["StatusWebhookReservedConcurrency"]
    webhook = template["Resources"]["StatusWebhookFunction"]["Properties"]

    assert parameter["Default"] == 0
    assert template["Conditions"]["HasStatusWebhookReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "StatusWebhookReservedConcurrency"}, "0"]}]
    }
    assert webhook["ReservedConcurrentExecutions"] == {
        "Fn::If": [
            "HasStatusWebhookReservedConcurrency",
            {"Ref": "StatusWebhookReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
