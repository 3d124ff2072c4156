"""Deploy `template.yaml` into moto: SAM transform offline, package to moto's S3, create_stack.

The same template and the same ASL file that `sam deploy` ships are what run locally; moto's
gaps are bridged here (see ../shared/design/local-stack.md), never by a second copy of either.
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


def install_moto_adapters() -> None:
    """Process-wide moto settings the local stack needs: execute the ASL, run Lambdas in-process."""
    from moto.core.config import default_user_config

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto warns about each resource type it does not model (the HTTP API): expected here.
    logging.getLogger("moto").setLevel(logging.ERROR)
    # The ASL interpreter logs every caught error (e.g. IsPresent on a missing field) as ERROR;
    # the execution history is where to look instead.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="Tried to parse AWS::ApiGatewayV2")

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config["lambda"] = {"use_docker": False}
    StateMachine.create_from_cloudformation_json = classmethod(  # type: ignore[method-assign]
        lambda cls, *args, **kwargs: _create_state_machine_from_cloudformation(*args, **kwargs)
    )


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
