"""POST /v0.1/dispatch and /v0.1/workflows: validate a Dispatch v0.1 workflow, store it, start it."""

import json
import os
import time
from datetime import timedelta

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from dispatch.api.problems import conflict, idempotency_key_reused, service_unavailable
from dispatch.api.resolver import (
    caller_account_id,
    idempotency_key,
    json_response,
    new_resolver,
    request_body,
    status_webhook_url,
)
from dispatch.api.schemas import WorkflowCreated
from dispatch.aws import client, dynamodb_table
from dispatch.clock import iso, utc_now
from dispatch.domain.workflow_request import parse_workflow_request
from dispatch.domain.workflows import create_workflow
from dispatch.observability import logger, metrics, tracer
from dispatch.storage.account_repository import AccountRepository
from dispatch.storage.workflow_repository import WorkflowRepository

STATE_MACHINE_ARN = os.environ["STATE_MACHINE_ARN"]
RETENTION = timedelta(days=int(os.environ.get("RETENTION_DAYS", "30")))
# Dispatch allows 15 s at least; only the local stack lowers it, so demos need not wait.
MIN_EXPIRY_TIME = int(os.environ.get("MIN_EXPIRY_TIME_SECONDS", "15"))
# Only the local stack sets this: callbacks to a receiver on the same machine, over plain http.
ALLOW_HTTP_LOOPBACK_CALLBACKS = os.environ.get("ALLOW_HTTP_LOOPBACK_CALLBACKS") == "true"

IDEMPOTENCY_HOURS = int(os.environ.get("IDEMPOTENCY_HOURS", "24"))

table = dynamodb_table(os.environ["TABLE_NAME"])
workflows = WorkflowRepository(table)
accounts = AccountRepository(table)
idempotency_store = DynamoDBPersistenceLayer(
    table_name=os.environ["TABLE_NAME"],
    key_attr="pk",
    expiry_attr="expires_at",
    status_attr="idempotency_status",
    boto3_client=client("dynamodb"),
)
IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="[account_id, key]",
    payload_validation_jmespath="body",
    expires_after_seconds=IDEMPOTENCY_HOURS * 3600,
    hash_function="sha256",
    response_hook=lambda response, record: {**response, "replayed": True},
)
stepfunctions = client("stepfunctions")
app = new_resolver()


def start_execution(dispatch_uuid: str, execution_input: dict) -> None:
    try:
        stepfunctions.start_execution(
            stateMachineArn=STATE_MACHINE_ARN, name=dispatch_uuid, input=json.dumps(execution_input)
        )
    except (ClientError, BotoCoreError) as error:
        # Never leave a stored workflow in progress with nothing running it.
        logger.exception("Could not start the execution")
        workflows.mark_start_failed(dispatch_uuid, iso(utc_now()))
        raise service_unavailable(
            "The workflow could not be started; nothing was sent. Try again."
        ) from error


@app.post("/v0.1/dispatch")
@app.post("/v0.1/workflows")
@tracer.capture_method
def handle_create_workflow():
    body = request_body(app)
    request = parse_workflow_request(
        body, min_expiry_time=MIN_EXPIRY_TIME, allow_http_loopback_callback=ALLOW_HTTP_LOOPBACK_CALLBACKS
    )
    account_id = caller_account_id(app)
    key = idempotency_key(app.current_event.headers.get("idempotency-key"))
    if key is None:
        return json_response(202, WorkflowCreated.model_validate(start(request, account_id)).body())
    # Same account + key: the first request's answer, for IDEMPOTENCY_HOURS; the body must match.
    replay = {"account_id": account_id, "key": key, "body": json.loads(body)}
    created = start_once(replay=replay, request=request)
    headers = {"Idempotent-Replayed": "true"} if created.pop("replayed", False) else {}
    return json_response(202, WorkflowCreated.model_validate(created).body(), headers=headers)


def default_callback_url(account_id: str) -> str | None:
    account = accounts.get_account(account_id)
    return account.get("callback_url") if account else None


def start(request, account_id: str) -> dict:
    dispatch_uuid = create_workflow(
        request,
        account_id=account_id,
        status_webhook_url=status_webhook_url(app),
        save=workflows.create,
        start_execution=start_execution,
        now=utc_now(),
        retention=RETENTION,
        default_callback_url=None if request.callback else default_callback_url(account_id),
    )
    logger.info("Workflow started", extra={"dispatch_uuid": dispatch_uuid, "steps": len(request.workflow)})
    metrics.add_metric(name="WorkflowsCreated", unit=MetricUnit.Count, value=1)
    return {"dispatch_uuid": dispatch_uuid}


@idempotent_function(data_keyword_argument="replay", persistence_store=idempotency_store, config=IDEMPOTENCY)
def _start_idempotently(*, replay: dict, request) -> dict:
    return start(request, replay["account_id"])


def start_once(*, replay: dict, request) -> dict:
    """Start the workflow once per (account, key); a concurrent twin waits for the first answer."""
    for _ in range(25):
        try:
            return _start_idempotently(replay=replay, request=request)
        except IdempotencyAlreadyInProgressError:
            time.sleep(0.2)
        except IdempotencyValidationError:
            raise idempotency_key_reused() from None
    raise conflict("A request with this Idempotency-Key is still in progress; retry shortly.")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    IDEMPOTENCY.register_lambda_context(context)
    return app.resolve(event, context)
