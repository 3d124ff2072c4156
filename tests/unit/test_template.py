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

from local_stack.deploy import (
    ROOT,
    TEMPLATE,
    code_directories,
    latest_versions,
    load_template,
    to_cloudformation,
)
from local_stack.gateway import routes_from_cloudformation

ASL_URI = "statemachine/workflow.asl.json"
ASL = ROOT / ASL_URI
REGION = "us-east-1"

ROUTES = {
    ("POST", "/v0.1/dispatch"),
    ("POST", "/v0.1/workflows"),
    ("GET", "/v0.1/workflows/{dispatch_uuid}"),
    ("GET", "/v0.1/messages/{message_uuid}"),
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
# Which actions each role gets, and on what: tests/unit/test_permissions.py.

# cfn-lint warnings and informational matches accepted on purpose: (rule id, resource) -> why.
# Errors are never accepted.
ALLOWED_LINT_MATCHES: dict[tuple[str, str], str] = {}


REQUIRED_STATES = {
    "Send message",
    "Wait for condition or expiry",
    "Fail over to next message",
    "Mark workflow as error",
    "Report the outcome",
}
RACE = "Wait for condition or expiry"
WAIT = "Wait until expiry"
WATCH = "Wait for a deciding status"

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


def state_scopes(machine: dict[str, Any]) -> list[dict[str, Any]]:
    """The machine and every Parallel branch in it: each is a StartAt with its own States."""
    scopes = [machine]
    for state in machine["States"].values():
        for branch in state.get("Branches", []):
            scopes += state_scopes(branch)
    return scopes


def all_states(machine: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for scope in state_scopes(machine) for name, state in scope["States"].items()}


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


def test_the_local_gateway_serves_every_route_with_and_without_a_trailing_slash(cfn):
    # API Gateway matches `/path/` to the route `/path` (routes cannot end in a slash); the local
    # gateway, built from the same routes, does the same.
    routes, _ = routes_from_cloudformation(cfn)

    assert {(route.method, route.path) for route in routes} == ROUTES
    for route in routes:
        path = route.path.replace("{dispatch_uuid}", "abc").replace("{message_uuid}", "abc")
        assert route.pattern.match(path) and route.pattern.match(path + "/"), route
        assert not route.pattern.match(path + "//x"), route


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


def actions_of(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def is_log_delivery_statement(statement: dict[str, Any]) -> bool:
    return all(action.startswith("logs:") and action != "logs:*" for action in actions_of(statement))


def test_no_role_allows_everything_but_log_delivery_and_waking_executions(template, cfn):
    (machine_id,) = resources_of_type(template, "AWS::Serverless::StateMachine")
    machine_role = f"{machine_id}Role"  # the role SAM generates for the state machine
    webhook_role = "StatusWebhookFunctionRole"
    assert {machine_role, webhook_role} <= set(resources_of_type(cfn, "AWS::IAM::Role"))

    for logical_id, role in resources_of_type(cfn, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                assert "*" not in actions_of(statement), (logical_id, statement)
                if statement.get("Resource") == "*":
                    # Only actions that support no resource-level permissions: Step Functions log
                    # delivery, and SendTaskFailure (a token is the capability, not an ARN).
                    if logical_id == webhook_role:
                        assert actions_of(statement) == ["states:SendTaskFailure"], statement
                    else:
                        assert logical_id == machine_role, (logical_id, statement)
                        assert is_log_delivery_statement(statement), statement


def test_the_cursor_key_is_generated_by_the_stack_and_readable_by_the_listing_only(template):
    secrets = resources_of_type(template, "AWS::SecretsManager::Secret")
    (name,) = secrets
    assert "GenerateSecretString" in secrets[name]["Properties"]  # nobody has to create it
    readers = []
    for logical_id, function in resources_of_type(template, "AWS::Serverless::Function").items():
        for policy in function["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []):
                if statement.get("Resource") == {"Ref": name}:
                    readers.append(logical_id)
    assert readers == ["ListWorkflowsFunction"]
    environment = resources_of_type(template, "AWS::Serverless::Function")["ListWorkflowsFunction"]
    assert environment["Properties"]["Environment"]["Variables"]["CURSOR_SECRET_ARN"] == {"Ref": name}


def test_the_message_route_only_reads_the_table(template):
    function = resources_of_type(template, "AWS::Serverless::Function")["GetMessageFunction"]
    (policy,) = function["Properties"]["Policies"]
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem"],
            "Resource": {"Fn::GetAtt": ["WorkflowsTable", "Arn"]},
        }
    ]


def test_signed_statuses_are_accepted_for_at_least_24_hours_by_default(template):
    parameter = template["Parameters"]["WebhookMaxAgeSeconds"]
    assert parameter["Default"] >= 24 * 3600
    function = resources_of_type(template, "AWS::Serverless::Function")["StatusWebhookFunction"]
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["WEBHOOK_MAX_AGE_SECONDS"] == {"Ref": "WebhookMaxAgeSeconds"}


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


def test_dynamodb_substitutions_are_update_item_integrations(template):
    substitutions = state_machine(template)["DefinitionSubstitutions"]

    assert substitutions["DynamoDbUpdateItem"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::dynamodb:updateItem"
    }
    # The optimised integration cannot wait for a task token; the SDK integration can.
    assert substitutions["DynamoDbUpdateItemWaitForTaskToken"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::aws-sdk:dynamodb:updateItem.waitForTaskToken"
    }
    assert not [name for name in substitutions if "GetItem" in name or "PutItem" in name]


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


def test_every_transition_targets_an_existing_state_of_its_scope(asl):
    for scope in state_scopes(asl):
        states = scope["States"]
        assert scope["StartAt"] in states
        for name, state in states.items():
            for target in transitions(state):
                assert target in states, (name, target)


def test_every_state_is_reachable_from_the_start_of_its_scope(asl):
    for scope in state_scopes(asl):
        states = scope["States"]
        reached, queue = {scope["StartAt"]}, deque([scope["StartAt"]])
        while queue:
            for target in transitions(states[queue.popleft()]):
                if target not in reached:
                    reached.add(target)
                    queue.append(target)

        assert reached == set(states)


def test_state_names_are_unique_across_branches(asl):
    names = [name for scope in state_scopes(asl) for name in scope["States"]]

    assert len(names) == len(set(names))


def test_failover_states_exist(asl):
    assert set(asl["States"]) >= REQUIRED_STATES


def test_every_task_and_the_race_have_a_catch(asl):
    # No path may end an execution on an uncaught error while its workflow is in progress.
    for name, state in all_states(asl).items():
        if state["Type"] in {"Task", "Parallel"}:
            assert state.get("Catch"), name


def test_every_catch_all_outside_the_race_ends_the_workflow_or_leaves_it_to_the_reconciler(asl):
    states = asl["States"]
    for name, state in states.items():
        for catcher in state.get("Catch", []):
            if "States.ALL" in catcher["ErrorEquals"] and name != "Send message":
                assert catcher["Next"] in {"End workflow on a fault", "Workflow left to the reconciler"}, name
    # A Fail state ends the execution: only where the reconciler takes over.
    assert [n for n, s in states.items() if s["Type"] == "Fail"] == ["Workflow left to the reconciler"]


def test_the_race_is_a_wait_against_a_task_token_stored_on_the_workflow(asl):
    race = asl["States"][RACE]
    waits, watches = race["Branches"]

    assert race["Type"] == "Parallel"
    wait = waits["States"][waits["StartAt"]]
    assert (waits["StartAt"], wait["Type"], wait["SecondsPath"]) == (WAIT, "Wait", "$.send.wait_seconds")
    assert "Seconds" not in wait
    assert waits["States"][wait["Next"]] == {
        "Type": "Fail",
        "Error": "Step.Expired",
        "Cause": waits["States"][wait["Next"]]["Cause"],
    }
    watch = watches["States"][watches["StartAt"]]
    assert watches["StartAt"] == WATCH
    assert watch["Resource"] == "${DynamoDbUpdateItemWaitForTaskToken}"
    assert watch["Parameters"]["ExpressionAttributeValues"][":token"] == {"S.$": "$$.Task.Token"}
    # Conditional: a step decided before the wait began must end the wait at once.
    assert "#status = :in_progress AND current_step = :step" in watch["Parameters"]["ConditionExpression.$"]


def test_the_watch_outlasts_the_wait(asl):
    # A States.Timeout must never beat the Wait (and moto cannot let a States.* error leave a branch).
    send = asl["States"]["Send message"]
    watch = all_states(asl)[WATCH]

    assert watch["TimeoutSecondsPath"] == "$.send.watch_seconds"
    margin = re.fullmatch(
        r"States\.MathAdd\(\$\.wait_seconds, (\d+)\)", send["ResultSelector"]["watch_seconds.$"]
    )
    assert margin and int(margin.group(1)) >= 10
    assert send["ResultSelector"]["wait_seconds.$"] == "$.wait_seconds"


def test_only_step_errors_leave_the_race_branches(asl):
    race = asl["States"][RACE]
    for branch in race["Branches"]:
        for name, state in branch["States"].items():
            if state["Type"] == "Fail":
                assert state["Error"].startswith("Step."), name
            for catcher in state.get("Catch", []):
                # A catch-all in the watch would swallow the webhook's wake-up errors.
                assert "States.ALL" not in catcher["ErrorEquals"], name


def test_the_race_routes_each_wake_up_error(asl):
    from dispatch.domain.status_updates import Wake

    catchers = {error: c["Next"] for c in asl["States"][RACE]["Catch"] for error in c["ErrorEquals"]}

    assert catchers[Wake.WORKFLOW_ENDED.value] == "Workflow decided by a status"
    assert asl["States"]["Workflow decided by a status"]["Type"] == "Succeed"
    for error in (Wake.MESSAGE_FAILED.value, "Step.Expired", "Step.Decided"):
        assert catchers[error] == "Fail over to next message"
    assert catchers["States.ALL"] == "End workflow on a fault"


def test_every_write_that_decides_a_step_clears_the_task_token(asl):
    for name in ("Fail over to next message", "Mark workflow as error", "End workflow on a fault"):
        parameters = asl["States"][name]["Parameters"]
        expression = parameters.get("UpdateExpression") or parameters["UpdateExpression.$"]
        assert "REMOVE task_token, task_token_step" in expression, name


def test_the_task_token_enters_only_the_watch(asl_text, asl):
    assert asl_text.count("$$.Task.Token") == 1
    assert "$$.Task.Token" in json.dumps(all_states(asl)[WATCH])


def test_the_state_machine_never_reads_an_item(asl):
    # A full item holds message text and addresses: personal data must stay out of history.
    for name, state in all_states(asl).items():
        resource = state.get("Resource", "")
        if "DynamoDb" in resource:
            assert resource.startswith("${DynamoDbUpdateItem"), name
            assert state["Parameters"].get("ReturnValues", "NONE") == "NONE", name


def test_no_jsonata_or_variables(asl_text):
    # moto (the local stack) cannot read JSONPath variables or run JSONata.
    definition = json.loads(asl_text)
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"
    assert '"Assign"' not in asl_text
    assert "{%" not in asl_text
    assert not re.search(r'"\$[A-Za-z_]', asl_text)  # "$variable" references


# --- reconciler ---------------------------------------------------------------------------------------


def test_abnormal_ends_of_this_machines_executions_reach_the_reconciler(template, cfn):
    function = template["Resources"]["ReconcileExecutionFunction"]["Properties"]
    (event,) = function["Events"].values()
    pattern = event["Properties"]["Pattern"]

    assert event["Type"] == "EventBridgeRule"
    assert pattern == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": ["FAILED", "TIMED_OUT", "ABORTED"],
            "stateMachineArn": [{"Ref": "WorkflowStateMachine"}],
        },
    }
    # SAM turns it into a rule on the default bus whose target is the function's live alias.
    (rule,) = resources_of_type(cfn, "AWS::Events::Rule").values()
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "ReconcileExecutionFunctionAliaslive"}


def test_the_reconcilers_statuses_are_the_domains(template):
    from dispatch.domain.reconciliation import ABNORMAL_ENDS

    function = template["Resources"]["ReconcileExecutionFunction"]["Properties"]
    (event,) = function["Events"].values()

    assert set(event["Properties"]["Pattern"]["detail"]["status"]) == ABNORMAL_ENDS


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
