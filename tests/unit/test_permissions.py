"""Least privilege: each function's IAM policy, after the SAM transform, grants exactly the calls
its code makes (declared in functions/<name>/permissions.json, next to the handler), and the
state machine's exactly the tasks of its ASL.

What the policies grant is read from the transformed template (the roles SAM generates), so a
policy template that grants more than it seems (DynamoDBReadPolicy: Scan and every index) shows
up here as an action the code does not use.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from local_stack.deploy import ROOT, code_directories, load_template, to_cloudformation

REGION = "us-east-1"
# Managed policies a role may have: logs (Lambda's basic execution role) and X-Ray (Tracing: Active).
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
# The state machine's log delivery needs these on "*" (no resource-level permissions exist).
LOG_DELIVERY_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
_REFERENCE = re.compile(r"\$\{([^}]+)\}")

Grant = tuple[str, str]  # (action, resource label)

# Actions with no resource-level permissions: "*" is the only Resource IAM accepts for them.
NO_RESOURCE_LEVEL_ACTIONS = frozenset({"states:SendTaskFailure"})


@pytest.fixture(scope="module", autouse=True)
def offline_aws_env():
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.delenv("AWS_PROFILE", raising=False)
        yield


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def cfn(template) -> dict[str, Any]:
    uris = {logical_id: f"s3://fake-artifacts/{logical_id}.zip" for logical_id in code_directories(template)}
    return to_cloudformation(template, artifact_uris=uris)


def functions(template: dict[str, Any]) -> dict[str, Path]:
    directories = code_directories(template)
    return {
        logical_id: directories[logical_id]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


_FUNCTION_ALIAS = re.compile(r"(\w+Function)(?:\.Alias|Alias[A-Za-z0-9]+)")


def label(resource: Any, variables: dict[str, Any] | None = None) -> str:
    """A resource ARN expression as `<logical id or parameter><ARN suffix>`, e.g.
    `WorkflowsTable`, `WorkflowsTable/index/gsi1`, `WorkflowStateMachine:*`, `MySecretName-*`."""
    if isinstance(resource, str):
        return resource
    if "Ref" in resource:
        # A function's published alias, as the template names it (`X.Alias`) and as SAM does.
        alias = _FUNCTION_ALIAS.fullmatch(resource["Ref"])
        return f"{alias.group(1)}:alias" if alias else resource["Ref"]
    if "Fn::GetAtt" in resource:
        target = resource["Fn::GetAtt"]
        return target[0] if isinstance(target, list) else target.split(".")[0]
    if "Fn::Sub" in resource:
        text, variables = (
            (resource["Fn::Sub"], {}) if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"]
        )
        names = [name for name in _REFERENCE.findall(text) if not name.startswith("AWS::")]
        assert len(names) == 1, f"one resource per ARN expected: {text}"
        (name,) = names
        tail = text.rsplit("}", 1)[1]
        if name in variables:
            return label(variables[name]) + tail
        return name.split(".")[0] + tail
    raise AssertionError(f"unexpected resource expression {resource}")


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def role_of(cfn: dict[str, Any], logical_id: str) -> dict[str, Any]:
    role_id = cfn["Resources"][logical_id]["Properties"][
        "RoleArn" if "RoleArn" in cfn["Resources"][logical_id]["Properties"] else "Role"
    ]["Fn::GetAtt"][0]
    return cfn["Resources"][role_id]["Properties"]


def granted(role: dict[str, Any]) -> set[Grant]:
    grants = set()
    for policy in role.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = set(as_list(statement["Action"]))
            if actions <= LOG_DELIVERY_ACTIONS and statement["Resource"] == "*":
                continue  # checked on its own below
            for action in actions:
                assert "*" not in action, action  # no wildcards, e.g. SQSSendMessagePolicy's sqs:SendMessage*
                for resource in as_list(statement["Resource"]):
                    grants.add((action, label(resource)))
    return grants


def declared(directory: Path) -> set[Grant]:
    document = json.loads((directory / "permissions.json").read_text())
    calls = {(call["action"], call["resource"]) for call in document["calls"]}
    assert len(calls) == len(document["calls"]), f"{directory.name}: a call is declared twice"
    return calls


def test_every_function_declares_its_aws_calls_next_to_its_handler(template):
    for logical_id, directory in functions(template).items():
        assert (directory / "permissions.json").is_file(), logical_id


def test_each_function_is_granted_exactly_the_calls_its_code_makes(template, cfn):
    for logical_id, directory in functions(template).items():
        grants, calls = granted(role_of(cfn, logical_id)), declared(directory)

        assert grants - calls == set(), f"{logical_id} may call what its code does not"
        assert calls - grants == set(), f"{logical_id} is not allowed what its code calls"


def test_declared_resources_are_resources_or_parameters_of_the_template(template):
    names = set(template["Resources"]) | set(template["Parameters"])
    for logical_id, directory in functions(template).items():
        for action, resource in declared(directory):
            if resource == "*":
                # Only an action IAM grants on no resource type (a task token is the capability).
                assert action in NO_RESOURCE_LEVEL_ACTIONS, (logical_id, action)
                continue
            assert re.split(r"[/:-]", resource, maxsplit=1)[0] in names, (logical_id, resource)


def test_roles_have_no_managed_policy_beyond_logs_and_tracing(cfn):
    for logical_id, resource in cfn["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            assert set(resource["Properties"].get("ManagedPolicyArns", [])) <= ALLOWED_MANAGED_POLICIES, (
                logical_id
            )


# --- the state machine: its grants follow from the ASL's tasks -------------------------------------------


def optimized_integration_action(arn: str) -> str:
    """`arn:aws:states:::dynamodb:getItem` -> `dynamodb:GetItem`."""
    service, api = arn.rsplit(":::", 1)[1].split(":")
    return f"{service}:{api[0].upper()}{api[1:]}"


def asl_tasks(template: dict[str, Any]) -> set[Grant]:
    """(action, resource) for every Task state of the ASL, with the template's substitutions."""
    (machine,) = (
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::StateMachine"
    )
    substitutions = machine["DefinitionSubstitutions"]
    asl = json.loads((ROOT / machine["DefinitionUri"]).read_text())

    def substituted(placeholder: str) -> Any:
        return substitutions[_REFERENCE.fullmatch(placeholder).group(1)]

    tasks = set()
    for state in asl["States"].values():
        if state["Type"] != "Task":
            continue
        resource = substituted(state["Resource"])
        if "Fn::GetAtt" in resource or "Ref" in resource:  # a Lambda function, or its alias
            tasks.add(("lambda:InvokeFunction", label(resource)))
            continue
        action = optimized_integration_action(resource["Fn::Sub"])
        parameters = state["Parameters"]
        target = parameters.get("TableName") or parameters.get("QueueUrl")
        tasks.add((action, label(substituted(target))))
    return tasks


def test_the_state_machine_is_granted_exactly_its_tasks_and_log_delivery(template, cfn):
    (machine_id,) = (
        k for k, r in cfn["Resources"].items() if r["Type"] == "AWS::StepFunctions::StateMachine"
    )
    role = role_of(cfn, machine_id)
    tasks = asl_tasks(template)

    assert tasks  # the ASL has tasks, and each was found
    assert granted(role) == tasks
    log_delivery = [
        statement
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if set(as_list(statement["Action"])) <= LOG_DELIVERY_ACTIONS
    ]
    assert [set(as_list(s["Action"])) for s in log_delivery] == [LOG_DELIVERY_ACTIONS]
