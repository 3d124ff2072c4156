"""DynamoDB access: one table, one item per workflow, plus small index and account items.

Workflow item (pk = "WORKFLOW#<dispatch_uuid>"):
  account_id, template, status, current_step, created_at, updated_at, finished_at, expires_at (TTL),
  steps:    list of per-step state, no PII (channel, condition, expiry, message_uuid, status, outcome);
            the state machine reads `steps[i]` directly with a native getItem.
  messages: list of JSON strings with each step's from/to/message: the only place PII lives.
  task_token, task_token_step: while the execution waits on step `task_token_step`, the task
            token that wakes it (stored by the state machine, taken by whichever write decides
            the step; never logged, never shown by the API).
  error_reason: why a workflow ended in `error` when no message status explains it.
Message index item (pk = "MESSAGE#<message_uuid>"): dispatch_uuid, step_index, expires_at.
Account items: see dispatch.storage.account_repository.

Every decision is a conditional write, so concurrent writers (status webhook, state machine,
retried Lambdas) can race safely: whichever lands first wins, the others become no-ops.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from dispatch.domain.ports import StepDecided
from dispatch.domain.statuses import StepOutcome, WorkflowStatus
from dispatch.storage.table import DynamoDBTable


def workflow_key(dispatch_uuid: str) -> dict[str, str]:
    return {"pk": f"WORKFLOW#{dispatch_uuid}"}


def account_workflows_key(account_id: str) -> str:
    """The index partition holding an account's workflows (sorted by creation)."""
    return f"ACCOUNT#{account_id}#WORKFLOWS"


def message_key(message_uuid: str) -> dict[str, str]:
    return {"pk": f"MESSAGE#{message_uuid}"}


def _is_conditional_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def plain(value: Any) -> Any:
    """DynamoDB's Decimals back to ints (we store no fractional numbers)."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


# Every write that decides a step also removes the waiting execution's task token: a late or
# repeated status then finds nothing to send back.
_TAKE_TOKEN = " REMOVE task_token, task_token_step"


class WorkflowRepository:
    """Reads and conditionally writes workflows, their steps and the message-uuid index."""

    def __init__(self, table: DynamoDBTable) -> None:
        self._table = table

    # -- workflows -----------------------------------------------------------------------------

    def create(self, item: dict[str, Any]) -> None:
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, dispatch_uuid: str) -> dict[str, Any] | None:
        response = self._table.get_item(Key=workflow_key(dispatch_uuid), ConsistentRead=True)
        item = response.get("Item")
        return plain(item) if item else None

    def mark_start_failed(self, dispatch_uuid: str, now: str) -> None:
        """The execution could not be started: end the workflow rather than leave it in progress."""
        self._table.update_item(
            Key=workflow_key(dispatch_uuid),
            UpdateExpression="SET #status = :error, finished_at = :now, updated_at = :now",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":error": WorkflowStatus.ERROR.value, ":now": now},
        )

    # -- sending -------------------------------------------------------------------------------

    def claim_send(self, dispatch_uuid: str, step_index: int, now: str) -> bool:
        """Record that step `step_index` is being sent; False if an attempt was recorded before
        or the workflow is no longer in progress."""
        try:
            self._table.update_item(
                Key=workflow_key(dispatch_uuid),
                UpdateExpression=f"SET steps[{step_index}].send_state = :sending, "
                f"steps[{step_index}].send_started_at = :now",
                # Never start a send for a cancelled or finished workflow.
                ConditionExpression=f"attribute_not_exists(steps[{step_index}].send_state) "
                "AND #status = :in_progress",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":sending": "sending",
                    ":now": now,
                    ":in_progress": WorkflowStatus.IN_PROGRESS.value,
                },
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def record_send_accepted(
        self, dispatch_uuid: str, step_index: int, message_uuid: str, now: str, expires_at: int
    ) -> None:
        self._table.put_item(
            Item={
                **message_key(message_uuid),
                "dispatch_uuid": dispatch_uuid,
                "step_index": step_index,
                "expires_at": expires_at,
            }
        )
        self._table.update_item(
            Key=workflow_key(dispatch_uuid),
            UpdateExpression=f"SET steps[{step_index}].send_state = :accepted, "
            f"steps[{step_index}].message_uuid = :message_uuid, steps[{step_index}].sent_at = :now, "
            "updated_at = :now",
            ExpressionAttributeValues={":accepted": "accepted", ":message_uuid": message_uuid, ":now": now},
        )

    def record_send_failed(
        self, dispatch_uuid: str, step_index: int, error: Mapping[str, Any], now: str
    ) -> None:
        """The provider refused the message: the step's outcome is send_failed (unless something
        decided the step first), which also ends the state machine's wait on it at once."""
        step = f"steps[{step_index}]"
        self._table.update_item(
            Key=workflow_key(dispatch_uuid),
            UpdateExpression=f"SET {step}.send_state = :failed, {step}.send_error = :error, "
            f"{step}.outcome = if_not_exists({step}.outcome, :send_failed), "
            f"{step}.outcome_at = if_not_exists({step}.outcome_at, :now), updated_at = :now",
            ExpressionAttributeValues={
                ":failed": "failed",
                ":error": dict(error),
                ":send_failed": StepOutcome.SEND_FAILED.value,
                ":now": now,
            },
        )

    # -- statuses ------------------------------------------------------------------------------

    def find_step_by_message_uuid(self, message_uuid: str) -> tuple[str, int] | None:
        item = self._table.get_item(Key=message_key(message_uuid), ConsistentRead=True).get("Item")
        if not item:
            return None
        return item["dispatch_uuid"], int(item["step_index"])

    def record_status(
        self,
        dispatch_uuid: str,
        step_index: int,
        *,
        status: str,
        rank: int,
        status_at: str,
        message_uuid: str | None,
        extra: dict[str, Any] | None = None,
    ) -> bool:
        """Store a step's status unless it has one of equal or higher rank, or the step was never
        sent (or sent as another message); True if stored."""
        step = f"steps[{step_index}]"
        values: dict[str, Any] = {":status": status, ":rank": rank, ":at": status_at}
        updates = [f"{step}.#status = :status", f"{step}.status_rank = :rank", f"{step}.status_at = :at"]
        # A send attempt is recorded before the provider is called, so before any of its statuses.
        belongs = f"attribute_exists({step}.send_state)"
        if message_uuid:
            # The status may arrive before the send's response is stored.
            values[":message_uuid"] = message_uuid
            updates.append(f"{step}.message_uuid = if_not_exists({step}.message_uuid, :message_uuid)")
            belongs += (
                f" AND (attribute_not_exists({step}.message_uuid) OR {step}.message_uuid = :message_uuid)"
            )
        names = {"#status": "status"}
        for name, value in (extra or {}).items():
            # Placeholders: some names (`usage`) are DynamoDB reserved words.
            names[f"#{name}"], values[f":{name}"] = name, value
            updates.append(f"{step}.#{name} = :{name}")
        try:
            self._table.update_item(
                Key=workflow_key(dispatch_uuid),
                UpdateExpression="SET " + ", ".join(updates),
                ConditionExpression=f"attribute_exists(pk) AND size(steps) > :index AND {belongs} AND "
                f"(attribute_not_exists({step}.status_rank) OR {step}.status_rank < :rank)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":index": step_index},
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def decide_step(
        self,
        dispatch_uuid: str,
        step_index: int,
        *,
        workflow_status: WorkflowStatus,
        outcome: StepOutcome,
        now: str,
    ) -> StepDecided | None:
        """End the workflow on this step's account, if the step is still the undecided current
        one; None if it was not (another writer decided first)."""
        try:
            response = self._table.update_item(
                Key=workflow_key(dispatch_uuid),
                UpdateExpression=f"SET #status = :workflow_status, steps[{step_index}].outcome = :outcome, "
                f"steps[{step_index}].outcome_at = :now, finished_at = :now, updated_at = :now" + _TAKE_TOKEN,
                ConditionExpression="#status = :in_progress AND current_step = :step",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":workflow_status": workflow_status.value,
                    ":outcome": outcome.value,
                    ":now": now,
                    ":in_progress": WorkflowStatus.IN_PROGRESS.value,
                    ":step": step_index,
                },
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return None
            raise
        return StepDecided.from_old_values(step_index, response.get("Attributes", {}))

    def fail_step(
        self, dispatch_uuid: str, step_index: int, *, outcome: StepOutcome, now: str
    ) -> StepDecided | None:
        """Record that the current step's message failed (rejected, undeliverable), so that the
        state machine fails over now; None if the step was decided already or is not current.
        The workflow stays in progress: moving to the next step is the state machine's write."""
        step = f"steps[{step_index}]"
        try:
            response = self._table.update_item(
                Key=workflow_key(dispatch_uuid),
                UpdateExpression=f"SET {step}.outcome = :outcome, {step}.outcome_at = :now, updated_at = :now"
                + _TAKE_TOKEN,
                ConditionExpression=f"#status = :in_progress AND current_step = :step "
                f"AND attribute_not_exists({step}.outcome)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":outcome": outcome.value,
                    ":now": now,
                    ":in_progress": WorkflowStatus.IN_PROGRESS.value,
                    ":step": step_index,
                },
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return None
            raise
        return StepDecided.from_old_values(step_index, response.get("Attributes", {}))

    def end_in_error(self, dispatch_uuid: str, *, reason: str, now: str) -> bool:
        """End a workflow still in progress in error, with the reason; False if it had ended
        (completed, cancelled, error) or does not exist."""
        try:
            self._table.update_item(
                Key=workflow_key(dispatch_uuid),
                UpdateExpression="SET #status = :error, error_reason = :reason, finished_at = :now, "
                "updated_at = :now" + _TAKE_TOKEN,
                ConditionExpression="#status = :in_progress",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":error": WorkflowStatus.ERROR.value,
                    ":reason": reason,
                    ":now": now,
                    ":in_progress": WorkflowStatus.IN_PROGRESS.value,
                },
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    # -- cancelling and listing ------------------------------------------------------------------

    def cancel(self, dispatch_uuid: str, step_index: int, now: str) -> bool:
        """Cancel the workflow if it is still in progress on step `step_index`; True if it was."""
        step = f"steps[{step_index}]"
        try:
            self._table.update_item(
                Key=workflow_key(dispatch_uuid),
                UpdateExpression=f"SET #status = :cancelled, finished_at = :now, updated_at = :now, "
                f"{step}.outcome = if_not_exists({step}.outcome, :cancelled), "
                f"{step}.outcome_at = if_not_exists({step}.outcome_at, :now)" + _TAKE_TOKEN,
                ConditionExpression="#status = :in_progress AND current_step = :step",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":cancelled": WorkflowStatus.CANCELLED.value,
                    ":in_progress": WorkflowStatus.IN_PROGRESS.value,
                    ":step": step_index,
                    ":now": now,
                },
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def list_for_account(
        self, account_id: str, *, status: str | None, limit: int, start_key: dict | None
    ) -> tuple[list[dict[str, Any]], dict | None]:
        """One page of the account's workflows, newest first, from the sparse index (no scans)."""
        query: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :account",
            "ExpressionAttributeValues": {":account": account_workflows_key(account_id)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status:
            query["FilterExpression"] = "#status = :status"
            query["ExpressionAttributeNames"] = {"#status": "status"}
            query["ExpressionAttributeValues"][":status"] = status
        if start_key:
            query["ExclusiveStartKey"] = start_key
        response = self._table.query(**query)
        return [plain(item) for item in response.get("Items", [])], response.get("LastEvaluatedKey")

    def store_final_report(self, dispatch_uuid: str, report: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Keep the first final report built for the workflow; return the one kept and whether
        it is `report` (the first time), so that every delivery attempt sends the same body and
        the workflow's outcome is counted once."""
        try:
            self._table.update_item(
                Key=workflow_key(dispatch_uuid),
                UpdateExpression="SET final_report = :report",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(final_report)",
                ExpressionAttributeValues={":report": report},
            )
        except ClientError as error:
            if not _is_conditional_failure(error):
                raise
        else:
            return report, True
        item = self._table.get_item(
            Key=workflow_key(dispatch_uuid), ConsistentRead=True, ProjectionExpression="final_report"
        ).get("Item")
        if not item or "final_report" not in item:
            raise LookupError(f"workflow {dispatch_uuid} no longer exists")
        return plain(item["final_report"]), False
