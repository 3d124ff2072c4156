"""template.yaml and the state machine's ASL: lint clean, and the shape the rest of the app relies on.

Offline and fast: cfn-lint runs in-process (it never fetches specs unless asked to), the SAM
transform is `local_stack.deploy.to_cloudformation` with fake artifact URIs, and statelint lints
the definition as deployed (placeholders substituted with fake ARNs).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

from local_stack.deploy import (
    ROOT,
    TEMPLATE,
    code_directories,
    latest_versions,
    load_template,
    to_cloudformation,
)

ASL_URI = "statemachine/workflow.asl.json"
ASL = ROOT / ASL_URI
REGION = "us-east-1"

ROUTES = {
    ("POST", "/v0.1/dispatch"),
    ("POST", "/v0.1/workflows"),
    ("GET", "/v0.1/workflows/{dispatch_uuid}"),
    ("GET", "/v0.1/workflows"),
    ("DELETE", "/v0.1/workflows/{dispatch_uuid}"),
    ("POST", "/webhooks/message-status"),
    ("GET", "/v0.1/openapi.json"),
}
UNAUTHENTICATED_ROUTES = {
    ("POST", "/webhooks/message-status"),  # signed by the Messages API instead
    ("GET", "/v0.1/openapi.json"),  # the API's public description
}
AUTHORIZER = "AccountAuthorizer"
# Function -> the one action it may get from an inline statement (no SAM policy template has it).
INLINE_STATEMENTS_ALLOWED = {"CancelWorkflowFunction": "states:StopExecution"}

# cfn-lint warnings and informational matches accepted on purpose: (rule id, resource) -> why.
# Errors are never accepted.
ALLOWED_LINT_MATCHES: dict[tuple[str, str], str] = {}


REQUIRED_STATES = {
    "Send message",
    "Wait for condition",
    "Read step status",
    "Condition met?",
    "Fail over to next message",
}

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
# Long runs mixing letters and digits: the shape of keys, tokens and passwords, not of names.
_SECRET_LIKE = re.compile(r"(?=[A-Za-z0-9+=_]*[0-9])(?=[A-Za-z0-9+=_]*[A-Za-z])[A-Za-z0-9+=_]{16,}")


@pytest.fixture(scope="module", autouse=True)
def offline_aws_env():
    """A region (the SAM translator resolves pseudo parameters) and fake credentials, so nothing
    here can reach a real account; neither cfn-lint nor the translator needs the network."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.delenv("AWS_PROFILE", raising=False)
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def cfn(template: dict[str, Any]) -> dict[str, Any]:
    """The SAM template transformed to plain CloudFormation, each code directory a fake S3 object."""
    uris = {logical_id: f"s3://fake-artifacts/{logical_id}.zip" for logical_id in code_directories(template)}
    return to_cloudformation(template, artifact_uris=uris)


@pytest.fixture(scope="module")
def asl_text() -> str:
    return ASL.read_text()


@pytest.fixture(scope="module")
def asl(asl_text: str) -> dict[str, Any]:
    return json.loads(asl_text)


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def state_machine(template: dict[str, Any]) -> dict[str, Any]:
    (machine,) = resources_of_type(template, "AWS::Serverless::StateMachine").values()
    return machine["Properties"]


def transitions(state: dict[str, Any]) -> list[str]:
    targets = [state[key] for key in ("Next", "Default") if key in state]
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    return targets


# --- cfn-lint --------------------------------------------------------------------------------------


def lint_resource(match: Any) -> str | None:
    """The logical id a cfn-lint match is about, if it is about a resource."""
    path = getattr(match, "path", None) or []
    return path[1] if len(path) > 1 and path[0] == "Resources" else None


def test_cfn_lint_reports_no_errors_and_only_allowed_warnings():
    matches = lint_file(TEMPLATE, ManualArgs(regions=[REGION], include_checks=["I"]))

    errors = [m for m in matches if m.rule.id.startswith("E")]
    unexpected = [
        m
        for m in matches
        if not m.rule.id.startswith("E") and (m.rule.id, lint_resource(m)) not in ALLOWED_LINT_MATCHES
    ]
    assert errors == []
    assert unexpected == []


# --- HTTP API ---------------------------------------------------------------------------------------


def http_api_body(cfn: dict[str, Any]) -> dict[str, Any]:
    (api,) = resources_of_type(cfn, "AWS::ApiGatewayV2::Api").values()
    return api["Properties"]["Body"]


def test_http_api_has_exactly_the_dispatch_routes(cfn):
    paths = http_api_body(cfn)["paths"]

    routes = {(method.upper(), path) for path, operations in paths.items() for method in operations}

    assert routes == ROUTES


def test_every_route_but_the_webhook_uses_the_account_authorizer(cfn):
    paths = http_api_body(cfn)["paths"]

    for path, operations in paths.items():
        for method, operation in operations.items():
            route = (method.upper(), path)
            expected = "NONE" if route in UNAUTHENTICATED_ROUTES else AUTHORIZER
            assert operation["security"] == [{expected: []}], route


def test_account_authorizer_caches_by_authorization_header(cfn):
    scheme = http_api_body(cfn)["components"]["securitySchemes"][AUTHORIZER]
    authorizer = scheme["x-amazon-apigateway-authorizer"]

    assert authorizer["type"] == "request"
    assert authorizer["authorizerResultTtlInSeconds"] > 0
    assert authorizer["identitySource"] == ["$request.header.Authorization"]
    # The authorizer function answers {"isAuthorized": ..., "context": ...} (payload 2.0 simple).
    assert authorizer["authorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["enableSimpleResponses"] is True


# --- functions --------------------------------------------------------------------------------------


def test_functions_run_python_3_13_on_arm64_from_globals(template, cfn):
    functions = resources_of_type(template, "AWS::Serverless::Function")
    assert functions
    for logical_id, function in functions.items():
        # Set once in Globals, so no function drifts to another runtime.
        assert "Runtime" not in function["Properties"], logical_id
        assert "Architectures" not in function["Properties"], logical_id
    assert template["Globals"]["Function"]["Runtime"] == "python3.13"

    lambdas = resources_of_type(cfn, "AWS::Lambda::Function")
    assert set(lambdas) == set(functions)
    for logical_id, function in lambdas.items():
        assert function["Properties"]["Runtime"] == "python3.13", logical_id
        assert function["Properties"]["Architectures"] == ["arm64"], logical_id


def has_module_level_function(source: str, name: str) -> bool:
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in ast.parse(source).body)


def test_every_function_code_uri_has_an_app_with_a_lambda_handler(template):
    directories = code_directories(template)

    for logical_id, function in resources_of_type(template, "AWS::Serverless::Function").items():
        assert function["Properties"]["Handler"] == "app.lambda_handler", logical_id
        app = directories[logical_id] / "app.py"
        assert app.is_file(), logical_id
        assert has_module_level_function(app.read_text(), "lambda_handler"), logical_id


def test_functions_use_only_sam_policy_templates(template):
    policy_templates = set(PolicyTemplatesProcessor.get_default_policy_templates_json()["Templates"])

    for logical_id, function in resources_of_type(template, "AWS::Serverless::Function").items():
        for policy in function["Properties"].get("Policies", []):
            assert isinstance(policy, dict) and len(policy) == 1, (logical_id, policy)
            if "Statement" in policy:
                # Only where no SAM policy template exists: stopping this machine's executions.
                assert logical_id in INLINE_STATEMENTS_ALLOWED, (logical_id, policy)
                (statement,) = policy["Statement"]
                assert statement["Action"] == INLINE_STATEMENTS_ALLOWED[logical_id]
                assert ":execution:${WorkflowStateMachine.Name}:*" in statement["Resource"]["Fn::Sub"]
                continue
            assert set(policy) <= policy_templates, (logical_id, policy)


def actions_of(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def is_log_delivery_statement(statement: dict[str, Any]) -> bool:
    return all(action.startswith("logs:") and action != "logs:*" for action in actions_of(statement))


def test_no_role_allows_everything_but_the_state_machine_log_delivery(template, cfn):
    (machine_id,) = resources_of_type(template, "AWS::Serverless::StateMachine")
    machine_role = f"{machine_id}Role"  # the role SAM generates for the state machine
    assert machine_role in resources_of_type(cfn, "AWS::IAM::Role")

    for logical_id, role in resources_of_type(cfn, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                assert "*" not in actions_of(statement), (logical_id, statement)
                if statement.get("Resource") == "*":
                    # Step Functions log delivery only works on "*" (no SAM template covers it).
                    assert logical_id == machine_role, (logical_id, statement)
                    assert is_log_delivery_statement(statement), statement


def test_state_machine_hand_written_statements_are_only_log_delivery(template):
    policy_templates = set(PolicyTemplatesProcessor.get_default_policy_templates_json()["Templates"])

    for policy in state_machine(template)["Policies"]:
        if set(policy) <= policy_templates:
            continue
        assert set(policy) == {"Statement"}, policy
        for statement in policy["Statement"]:
            assert is_log_delivery_statement(statement), statement


# --- table ------------------------------------------------------------------------------------------


def test_table_expires_items_and_keeps_point_in_time_recovery(template):
    (table,) = resources_of_type(template, "AWS::DynamoDB::Table").values()
    properties = table["Properties"]

    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


# --- state machine resource -------------------------------------------------------------------------


def test_state_machine_is_standard_logged_and_reads_the_asl_file(template, cfn):
    properties = state_machine(template)

    assert properties["DefinitionUri"] == ASL_URI
    assert properties["Type"] == "STANDARD"
    logging = properties["Logging"]
    assert logging["Level"] in {"ALL", "ERROR", "FATAL"}
    assert logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    (machine,) = resources_of_type(cfn, "AWS::StepFunctions::StateMachine").values()
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == logging["Level"]


def test_every_asl_placeholder_has_a_substitution_and_vice_versa(template, asl_text):
    placeholders = set(_PLACEHOLDER.findall(asl_text))

    assert placeholders
    assert placeholders == set(state_machine(template)["DefinitionSubstitutions"])


def test_dynamodb_substitutions_are_the_optimized_integrations(template):
    substitutions = state_machine(template)["DefinitionSubstitutions"]

    assert substitutions["DynamoDbGetItem"] == {"Fn::Sub": "arn:${AWS::Partition}:states:::dynamodb:getItem"}
    assert substitutions["DynamoDbUpdateItem"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::dynamodb:updateItem"
    }


# --- statelint --------------------------------------------------------------------------------------


def fake_value(logical_value: Any) -> str:
    """A deploy-time-like value for a DefinitionSubstitutions entry (statelint wants URIs)."""
    if isinstance(logical_value, str):
        return logical_value
    if "Fn::Sub" in logical_value:
        return (
            logical_value["Fn::Sub"]
            .replace("${AWS::Partition}", "aws")
            .replace("${AWS::Region}", REGION)
            .replace("${AWS::AccountId}", "123456789012")
        )
    if "Fn::GetAtt" in logical_value:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{logical_value['Fn::GetAtt'][0]}"
    if logical_value["Ref"].endswith(".Alias"):
        function = logical_value["Ref"].removesuffix(".Alias")
        return f"arn:aws:lambda:{REGION}:123456789012:function:{function}:live"
    return f"fake-{logical_value['Ref']}"


def test_statelint_passes_on_the_deployed_definition(template, asl_text, tmp_path):
    substitutions = {
        name: fake_value(value) for name, value in state_machine(template)["DefinitionSubstitutions"].items()
    }
    definition = tmp_path / "workflow.asl.json"
    definition.write_text(_PLACEHOLDER.sub(lambda m: substitutions[m.group(1)], asl_text))

    result = subprocess.run(
        [str(Path(sys.executable).parent / "statelint"), str(definition)],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


# --- ASL structure ----------------------------------------------------------------------------------


def test_every_transition_targets_an_existing_state(asl):
    states = asl["States"]

    assert asl["StartAt"] in states
    for name, state in states.items():
        for target in transitions(state):
            assert target in states, (name, target)


def test_every_state_is_reachable_from_start(asl):
    states = asl["States"]
    reached, queue = {asl["StartAt"]}, deque([asl["StartAt"]])
    while queue:
        for target in transitions(states[queue.popleft()]):
            if target not in reached:
                reached.add(target)
                queue.append(target)

    assert reached == set(states)


def test_failover_states_exist(asl):
    assert set(asl["States"]) >= REQUIRED_STATES


def test_wait_reads_its_duration_from_the_send_result(asl):
    wait = asl["States"]["Wait for condition"]

    assert wait["Type"] == "Wait"
    assert "SecondsPath" in wait
    assert "Seconds" not in wait


def test_step_status_read_projects_only_what_it_needs(asl):
    read = asl["States"]["Read step status"]

    assert read["Type"] == "Task"
    assert read["Resource"] == "${DynamoDbGetItem}"
    assert {"ProjectionExpression", "ProjectionExpression.$"} & set(read["Parameters"])


def test_no_dynamodb_read_pulls_a_whole_item_into_history(asl):
    reads = {name: s for name, s in asl["States"].items() if s.get("Resource") == "${DynamoDbGetItem}"}

    assert reads
    for name, state in reads.items():
        # A full item holds message text and addresses: personal data must stay out of history.
        assert {"ProjectionExpression", "ProjectionExpression.$"} & set(state["Parameters"]), name


# --- outputs and parameters -------------------------------------------------------------------------


def test_outputs_name_the_api_table_and_state_machine(template):
    assert {"ApiUrl", "WorkflowsTableName", "WorkflowStateMachineArn"} <= set(template["Outputs"])


def test_no_parameter_default_looks_like_a_secret(template):
    for name, parameter in template["Parameters"].items():
        default = parameter.get("Default")
        if isinstance(default, str):
            assert not _SECRET_LIKE.search(default), name
        if re.search(r"secret|password|token|key", name, re.IGNORECASE):
            # Secrets are passed by the name of their Secrets Manager secret, never by value.
            assert name.endswith("SecretName"), name


# --- published versions and SnapStart ----------------------------------------------------------------


def aliases(cfn: dict[str, Any]) -> set[str]:
    return set(resources_of_type(cfn, "AWS::Lambda::Alias"))


def test_every_function_is_called_through_its_live_alias(cfn):
    # SnapStart snapshots published versions only: no caller may invoke $LATEST.
    functions = resources_of_type(cfn, "AWS::Lambda::Function")
    assert aliases(cfn) == {f"{logical_id}Aliaslive" for logical_id in functions}
    body = http_api_body(cfn)
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            assert re.search(r"/functions/\$\{\w+Aliaslive\}/invocations$", uri), (method, path)
    authorizer = body["components"]["securitySchemes"][AUTHORIZER]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerUri"]["Fn::Sub"][1]["__FunctionArn__"] == {
        "Ref": "AuthorizerFunctionAliaslive"
    }
    for mapping in resources_of_type(cfn, "AWS::Lambda::EventSourceMapping").values():
        assert mapping["Properties"]["FunctionName"]["Ref"] in aliases(cfn)
    for permission in resources_of_type(cfn, "AWS::Lambda::Permission").values():
        assert permission["Properties"]["FunctionName"]["Ref"] in aliases(cfn)
    (machine,) = resources_of_type(cfn, "AWS::StepFunctions::StateMachine").values()
    assert machine["Properties"]["DefinitionSubstitutions"]["SendMessageFunctionArn"] == {
        "Ref": "SendMessageFunctionAliaslive"
    }


def test_snapstart_is_a_parameter_off_by_default_for_every_function(template, cfn):
    assert template["Parameters"]["SnapStart"]["Default"] == "None"
    assert set(template["Parameters"]["SnapStart"]["AllowedValues"]) == {"None", "PublishedVersions"}
    for logical_id, function in resources_of_type(cfn, "AWS::Lambda::Function").items():
        assert function["Properties"]["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}, logical_id
    # A replaced version is deleted, and its cached snapshot (billed while it exists) with it.
    for logical_id, version in resources_of_type(cfn, "AWS::Lambda::Version").items():
        assert version["DeletionPolicy"] == "Delete", logical_id


def test_a_new_layer_publishes_new_versions_of_every_function(template, cfn):
    uris = {logical_id: f"s3://fake-artifacts/{logical_id}.zip" for logical_id in code_directories(template)}
    uris["DispatchLayer"] = "s3://fake-artifacts/DispatchLayer-changed.zip"

    changed = to_cloudformation(template, artifact_uris=uris)

    before = set(resources_of_type(cfn, "AWS::Lambda::Version"))
    after = set(resources_of_type(changed, "AWS::Lambda::Version"))
    assert len(before) == len(after) == len(resources_of_type(cfn, "AWS::Lambda::Function"))
    assert before.isdisjoint(after)


def test_the_local_stack_runs_latest_without_aliases(template):
    uris = {logical_id: f"s3://fake-artifacts/{logical_id}.zip" for logical_id in code_directories(template)}

    local = to_cloudformation(latest_versions(template), artifact_uris=uris)

    assert not aliases(local)
    assert not resources_of_type(local, "AWS::Lambda::Version")
    assert ".Alias" not in json.dumps(latest_versions(template))
