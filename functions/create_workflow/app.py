"""POST /v0.1/dispatch and /v0.1/workflows: validate a Dispatch v0.1 workflow, store it, start it."""

from dispatch.api.idempotency import IdempotentCreates
from dispatch.api.resolver import (
    caller_account_id,
    idempotency_key,
    json_response,
    new_resolver,
    request_body,
    status_webhook_url,
)
from dispatch.aws import client, dynamodb_table
from dispatch.domain.create_body import CreateBody, parse_create_body
from dispatch.domain.workflows import create_workflow
from dispatch.integrations.executions import StepFunctionsExecutions
from dispatch.observability import Metric, count, logger, metrics, tracer
from dispatch.settings import CreateWorkflowSettings
from dispatch.storage.account_repository import AccountRepository
from dispatch.storage.workflow_repository import WorkflowRepository

settings = CreateWorkflowSettings.from_environ()
table = dynamodb_table(settings.table_name)
workflows = WorkflowRepository(table)
accounts = AccountRepository(table)
executions = StepFunctionsExecutions(client("stepfunctions"), settings.state_machine_arn)
idempotent = IdempotentCreates(table_name=settings.table_name, expires_after_hours=settings.idempotency_hours)
app = new_resolver()


@app.post("/v0.1/dispatch")
@app.post("/v0.1/workflows")
@tracer.capture_method
def handle_create_workflow():
    body = request_body(app)
    request = parse_create_body(
        body,
        min_expiry_time=settings.min_expiry_time_seconds,
        allow_http_loopback_callback=settings.allow_http_loopback_callbacks,
    )
    account_id = caller_account_id(app)
    dispatch_uuid, replayed = idempotent.create(
        account_id=account_id,
        key=idempotency_key(app.current_event.headers.get("idempotency-key")),
        body=body,
        start=lambda: start(request, account_id),
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    # As dispatch.api.schemas.WorkflowCreated declares it.
    return json_response(202, {"dispatch_uuid": dispatch_uuid}, headers=headers)


def start(request: CreateBody, account_id: str) -> str:
    dispatch_uuid = create_workflow(
        request,
        account_id=account_id,
        status_webhook_url=status_webhook_url(app),
        workflows=workflows,
        executions=executions,
        accounts=accounts,
        retention=settings.retention,
    )
    logger.info("Workflow started", extra={"dispatch_uuid": dispatch_uuid, "steps": len(request.workflow)})
    count(Metric.WORKFLOWS_CREATED)
    return dispatch_uuid


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    idempotent.register_lambda_context(context)
    return app.resolve(event, context)
