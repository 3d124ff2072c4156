"""DynamoDB for the unit tests: moto, with the table of template.yaml, so that the repositories'
conditional writes are tested as they are (each rule lives once, in dispatch.storage)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from dispatch.storage.table import DynamoDBTable
from local_stack.deploy import load_template

TABLE_NAME = "workflows"
REGION = "us-east-1"
_TABLE_PROPERTIES = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


@functools.cache
def _table_definition() -> dict[str, Any]:
    """The workflows table's keys and indexes in template.yaml (parsed once: parsing the template
    costs more than most tests)."""
    properties = load_template()["Resources"]["WorkflowsTable"]["Properties"]
    return {name: properties[name] for name in _TABLE_PROPERTIES}


@contextmanager
def workflows_table() -> Iterator[DynamoDBTable]:
    """A moto DynamoDB with the workflows table of template.yaml (empty), as the functions see it."""
    with pytest.MonkeyPatch.context() as patch:
        # The integration tests' local stack (same session) points every client at its moto server.
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        # boto3's default session is kept (moto replaces it by default): a new one loads botocore's
        # models again, most of the cost of a table (which each test module makes).
        with mock_aws(config={"core": {"reset_boto3_session": False}}):
            client = boto3.client("dynamodb", region_name=REGION)
            client.create_table(TableName=TABLE_NAME, **copy.deepcopy(_table_definition()))
            yield DynamoDBTable(client, TABLE_NAME)


def items(table: Any) -> list[dict[str, Any]]:
    """Every item of the table (a small one), DynamoDB's Decimals as ints."""
    scanned: list[dict[str, Any]] = []
    query: dict[str, Any] = {}
    while True:
        response = table.scan(**query)
        scanned += response["Items"]
        if "LastEvaluatedKey" not in response:
            return [_plain(item) for item in scanned]
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def empty(table: Any) -> None:
    for item in items(table):
        table.delete_item(Key={"pk": item["pk"]})


def fail_over(table: Any, dispatch_uuid: str, step_index: int, outcome: str, now: str) -> bool:
    """What the state machine writes when a step's wait ends without its condition (the
    "Fail over to next message" task of statemachine/workflow.asl.json, which the integration
    tests run for real): move to the next step, unless the workflow was decided meanwhile."""
    try:
        table.update_item(
            Key={"pk": f"WORKFLOW#{dispatch_uuid}"},
            UpdateExpression=f"SET current_step = :next_step, steps[{step_index}].outcome = :outcome, "
            f"steps[{step_index}].outcome_at = :now, updated_at = :now",
            ConditionExpression="#status = :in_progress AND current_step = :step",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":in_progress": "in_progress",
                ":step": step_index,
                ":next_step": step_index + 1,
                ":outcome": outcome,
                ":now": now,
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def wait_for_status(table: Any, dispatch_uuid: str, step_index: int, task_token: str) -> bool:
    """What the state machine writes when it starts waiting on a step (the "Wait for a deciding
    status" task of statemachine/workflow.asl.json, run for real by the integration tests): store
    its task token, unless the step was decided already. False when the condition failed."""
    try:
        table.update_item(
            Key={"pk": f"WORKFLOW#{dispatch_uuid}"},
            UpdateExpression="SET task_token = :token, task_token_step = :step",
            ConditionExpression=f"#status = :in_progress AND current_step = :step "
            f"AND attribute_not_exists(steps[{step_index}].outcome)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":token": task_token,
                ":in_progress": "in_progress",
                ":step": step_index,
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True
