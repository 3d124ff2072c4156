"""Deploy `template.yaml` into moto: SAM transform offline, package to moto's S3, create_stack.

The same template and the same ASL file that `sam deploy` ships are what run locally; moto's
gaps are bridged here (see docs/local-stack.md), never by a second copy of either.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.stepfunctions.models import StateMachine
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
ARTIFACT_BUCKET = "local-stack-artifacts"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml_parse(path.read_text())


def to_cloudformation(
    template: dict[str, Any], *, artifact_uris: dict[str, str], partition: str = "aws"
) -> dict:
    """Run the SAM transform offline, local paths replaced by the uploaded artifacts' S3 URIs and
    the state machine's ASL inlined (moto ignores DefinitionS3Location)."""
    template = copy.deepcopy(template)
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for uri_property in ("CodeUri", "ContentUri"):
            if uri_property in properties:
                properties[uri_property] = artifact_uris[logical_id]
        if "DefinitionUri" in properties:
            properties["Definition"] = json.loads((ROOT / properties.pop("DefinitionUri")).read_text())
    translator = Translator(get_bundled_managed_policy_map(partition), Parser())
    return translator.translate(template, parameter_values={})


_VERSION_PROPERTIES = (
    "AutoPublishAlias",
    "AutoPublishAliasAllProperties",
    "VersionDeletionPolicy",
    "SnapStart",
)


def latest_versions(template: dict[str, Any]) -> dict[str, Any]:
    """The template with every function run as $LATEST: moto models no Lambda aliases, and there
    is nothing to snapshot locally (the `live` alias exists for SnapStart). References to
    `<Function>.Alias` become the function's ARN."""
    template = copy.deepcopy(template)
    functions = [
        resource.get("Properties", {})
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    for properties in [template.get("Globals", {}).get("Function", {}), *functions]:
        for name in _VERSION_PROPERTIES:
            properties.pop(name, None)
    return _function_arn_for_alias(template)


def _function_arn_for_alias(value: Any) -> Any:
    if isinstance(value, dict):
        reference = value.get("Ref")
        if len(value) == 1 and isinstance(reference, str) and reference.endswith(".Alias"):
            return {"Fn::GetAtt": [reference.removesuffix(".Alias"), "Arn"]}
        return {key: _function_arn_for_alias(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_function_arn_for_alias(item) for item in value]
    return value


def code_directories(template: dict[str, Any]) -> dict[str, Path]:
    """Logical id -> local code directory, for every function and layer of the template."""
    directories = {}
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        uri = properties.get("CodeUri") or properties.get("ContentUri")
        if isinstance(uri, str):
            directories[logical_id] = ROOT / uri
    return directories


def zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(directory))
    return buffer.getvalue()


def upload_artifacts(s3: Any, directories: dict[str, Path]) -> dict[str, str]:
    s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    uris = {}
    for logical_id, directory in directories.items():
        key = f"{logical_id}.zip"
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=zip_directory(directory))
        uris[logical_id] = f"s3://{ARTIFACT_BUCKET}/{key}"
    return uris


_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def _create_state_machine_from_cloudformation(
    resource_name, cloudformation_json, account_id, region_name, **kwargs
):
    """moto's hook ignores DefinitionSubstitutions and writes to the non-executing backend:
    substitute and create the machine in the executing (parser) backend instead."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    properties = cloudformation_json["Properties"]
    definition = properties["DefinitionString"]
    substitutions = properties.get("DefinitionSubstitutions", {})
    definition = _SUBSTITUTION.sub(lambda m: str(substitutions.get(m.group(1), m.group(0))), definition)
    backend = stepfunctions_parser_backends[account_id][region_name]
    return backend.create_state_machine(
        name=properties.get("StateMachineName", resource_name),
        definition=definition,
        roleArn=properties.get("RoleArn", ""),
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


# The interpreter's task integrations this template uses (Lambda, DynamoDB, the SDK one, SQS).
_INTERPRETER_CLIENT_USERS = (
    "lambda_eval_utils",
    "service.state_task_service_dynamodb",
    "service.state_task_service_aws_sdk",
    "service.state_task_service_sqs",
)


def _share_interpreter_clients() -> None:
    """moto's ASL interpreter creates a boto3 client from the default session for every task it
    runs; client creation is not thread-safe, and parallel branches or concurrent executions then
    send garbled requests now and then. One client per service, created under a lock, instead
    (boto3 clients are thread-safe once created)."""
    import importlib
    import threading

    import moto.stepfunctions.parser.asl as asl
    from moto.stepfunctions.parser.asl.utils import boto_client

    create = boto_client.boto_client_for
    if getattr(create, "shared", False):
        return
    clients: dict[tuple, Any] = {}
    lock = threading.Lock()

    def shared_client(region: str, service: str, state_credentials: Any = None) -> Any:
        with lock:
            if (region, service) not in clients:
                clients[region, service] = create(region=region, service=service)
            return clients[region, service]

    shared_client.shared = True  # type: ignore[attr-defined]
    for name in _INTERPRETER_CLIENT_USERS:
        module = importlib.import_module(f"{asl.__name__}.component.state.exec.state_task.{name}")
        if getattr(module, "boto_client_for", None) is create:
            module.boto_client_for = shared_client


_DYNAMODB_ITEM_ACTIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
)


def _serialize_dynamodb() -> None:
    """moto's DynamoDB is not thread-safe: two requests on one item at once (the status webhook
    and the state machine both write the workflow item) can break a request ("dictionary changed
    size during iteration"). Here DynamoDB's item requests take turns; each takes milliseconds."""
    import functools
    import threading

    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_serialized", False):
        return
    lock = threading.RLock()
    for name in _DYNAMODB_ITEM_ACTIONS:
        original = getattr(DynamoHandler, name)

        @functools.wraps(original)
        def in_turn(handler, _original=original):
            with lock:
                return _original(handler)

        setattr(DynamoHandler, name, in_turn)
    DynamoHandler._serialized = True  # type: ignore[attr-defined]


def _stop_ends_task_token_waits() -> None:
    """On AWS, StopExecution ends an execution at once, whatever its tasks wait for. moto stops
    the interpreter but leaves a task waiting for its token until the task's own timeout (the
    step's expiry and then some), and the execution RUNNING that long. Here stopping an execution
    also ends its pending token waits."""
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeSuccess
    from moto.stepfunctions.parser.backend.execution import Execution

    if getattr(Execution.stop, "ends_token_waits", False):
        return
    stop = Execution.stop

    def stop_and_end_waits(execution, stop_date, error, cause):
        stop(execution, stop_date=stop_date, error=error, cause=cause)
        worker = execution.exec_worker
        if worker is None:
            return
        # A quiet end (an error would override the stop and fail the execution instead).
        for endpoint in list(worker.env.callback_pool_manager._pool.values()):
            endpoint.notify(CallbackOutcomeSuccess(callback_id=endpoint.callback_id, output="{}"))

    stop_and_end_waits.ends_token_waits = True  # type: ignore[attr-defined]
    Execution.stop = stop_and_end_waits  # type: ignore[method-assign]

    # And an execution stopped while a task was failing stays ABORTED, as on AWS: moto let the
    # task's late error turn it FAILED.
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    set_error = Environment.set_error

    def set_error_unless_stopped(environment, error):
        if not isinstance(environment._program_state, ProgramStopped):
            set_error(environment, error)

    Environment.set_error = set_error_unless_stopped  # type: ignore[method-assign]


def _history_timeouts_are_numbers() -> None:
    """moto records a task's `TimeoutSecondsPath` in its TaskScheduled event as whatever the path
    evaluation left on its stack (a JSON object, not the seconds), and then cannot serialise the
    history: `get-execution-history` answers 500. Here such a value is replaced by the number it
    should be when it is one, and left out otherwise (AWS records the seconds)."""
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

    if getattr(EventManager.add_event, "numbers_only", False):
        return
    add_event = EventManager.add_event

    def add_event_with_numeric_timeouts(manager, context, event_type, event_details=None, *args, **kwargs):
        for details in (event_details or {}).values():
            if not isinstance(details, dict):
                continue
            for key in ("timeoutInSeconds", "heartbeatInSeconds"):
                if key in details and not isinstance(details[key], int):
                    try:
                        details[key] = int(details[key])
                    except (TypeError, ValueError):
                        del details[key]
        return add_event(manager, context, event_type, event_details, *args, **kwargs)

    add_event_with_numeric_timeouts.numbers_only = True  # type: ignore[attr-defined]
    EventManager.add_event = add_event_with_numeric_timeouts  # type: ignore[method-assign]


class _LocalAlarm(CloudFormationModel):
    """moto's CloudFormation models no AWS::CloudWatch::Alarm; the template's alarms become these
    placeholders, so that the stack deploys and the dashboard's references to them resolve.
    Nothing evaluates them locally (moto evaluates no alarm)."""

    def __init__(self, name: str, arn: str) -> None:
        self.name, self.arn = name, arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        name = cloudformation_json["Properties"].get("AlarmName") or resource_name
        return cls(name, f"arn:aws:cloudwatch:{region_name}:{account_id}:alarm:{name}")

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()


class GeneratedSecret(CloudFormationModel):
    """AWS::SecretsManager::Secret, which moto's CloudFormation does not model: the secret is
    created in moto's Secrets Manager, its value generated as GenerateSecretString would (or its
    SecretString), so that `Ref` gives its ARN and the functions read it as they do on AWS."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        from moto.secretsmanager.models import secretsmanager_backends

        backend = secretsmanager_backends[account_id][region_name]
        properties = cloudformation_json.get("Properties", {})
        value = properties.get("SecretString")
        if value is None:
            generate = properties.get("GenerateSecretString", {})
            answer = backend.get_random_password(
                password_length=int(generate.get("PasswordLength", 32)),
                exclude_characters=generate.get("ExcludeCharacters", ""),
                exclude_numbers=bool(generate.get("ExcludeNumbers", False)),
                exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
                exclude_uppercase=bool(generate.get("ExcludeUppercase", False)),
                exclude_lowercase=bool(generate.get("ExcludeLowercase", False)),
                include_space=bool(generate.get("IncludeSpace", False)),
                require_each_included_type=bool(generate.get("RequireEachIncludedType", True)),
            )
            value = json.loads(answer)["RandomPassword"]
        created = backend.create_secret(
            name=properties.get("Name", resource_name),
            secret_string=value,
            secret_binary=None,
            description=properties.get("Description"),
            tags=None,
            kms_key_id=None,
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name, cloudformation_json, account_id, region_name
    ) -> None:
        return None

    def is_created(self) -> bool:
        return True


def install_moto_adapters() -> None:
    """Process-wide moto settings the local stack needs: execute the ASL, no Docker for Lambda."""
    from moto.core.config import default_user_config

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto warns about each resource type it does not model (the HTTP API): expected here.
    logging.getLogger("moto").setLevel(logging.ERROR)
    # The ASL interpreter logs every caught error (e.g. IsPresent on a missing field) as ERROR;
    # the execution history is where to look instead.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="Tried to parse AWS::ApiGatewayV2")

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    _share_interpreter_clients()
    _serialize_dynamodb()
    _stop_ends_task_token_waits()
    _history_timeouts_are_numbers()
    default_user_config["lambda"] = {"use_docker": False}
    StateMachine.create_from_cloudformation_json = classmethod(  # type: ignore[method-assign]
        lambda cls, *args, **kwargs: _create_state_machine_from_cloudformation(*args, **kwargs)
    )
    # moto lists the resource types it models once (cached): let it see _LocalAlarm and
    # GeneratedSecret.
    from moto.cloudformation import parsing

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def deploy(
    session: Any, *, stack_name: str, parameters: dict[str, str], template_path: Path = TEMPLATE
) -> dict:
    """Deploy the template into moto; return {"cfn": template, "resources": logical -> physical id,
    "outputs": name -> value, "code": logical -> local directory, "layers": layer directories}."""
    template = latest_versions(load_template(template_path))
    directories = code_directories(template)
    uris = upload_artifacts(session.client("s3"), directories)
    cfn = to_cloudformation(template, artifact_uris=uris)
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(cfn),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
        if "PhysicalResourceId" in r  # moto skips what it does not model (the HTTP API, served locally)
    }
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
    }
    layers = [
        directories[logical_id]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    ]
    return {"cfn": cfn, "resources": resources, "outputs": outputs, "code": directories, "layers": layers}
