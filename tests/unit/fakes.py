"""In-memory stand-ins for the repositories in dispatch.storage, plus the canonical workflow
the unit tests share.

`InMemoryWorkflowRepository` and `InMemoryAccountRepository` have the method names, arguments and
conditional-write semantics of `WorkflowRepository` / `AccountRepository`; a condition that the
DynamoDB ConditionExpression would fail becomes the same `return False`. Reads return deep copies,
as a DynamoDB read would: mutating what `get` returns never changes the stored item.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.domain import accounts as accounts_module
from dispatch.domain import credentials as credentials_module
from dispatch.domain.applications import new_application_id, normalized_public_key
from dispatch.domain.statuses import StepOutcome, WorkflowStatus
from dispatch.domain.workflow_request import WorkflowRequest, parse_workflow_request
from dispatch.domain.workflows import new_workflow_item
from dispatch.storage.account_repository import NoStagedSecret


class ConditionalCheckFailed(Exception):
    """What the real repository lets escape as a ClientError (only `create` raises it)."""


class InMemoryWorkflowRepository:
    """Workflow items by dispatch_uuid, and the message-uuid index, held in dicts."""

    def __init__(self) -> None:
        self.workflows: dict[str, dict[str, Any]] = {}
        self.message_index: dict[str, dict[str, Any]] = {}

    # -- workflows -----------------------------------------------------------------------------

    def create(self, item: dict[str, Any]) -> None:
        if item["dispatch_uuid"] in self.workflows:
            raise ConditionalCheckFailed(item["dispatch_uuid"])
        self.workflows[item["dispatch_uuid"]] = copy.deepcopy(item)

    def get(self, dispatch_uuid: str) -> dict[str, Any] | None:
        item = self.workflows.get(dispatch_uuid)
        return copy.deepcopy(item) if item is not None else None

    def mark_start_failed(self, dispatch_uuid: str, now: str) -> None:
        workflow = self.workflows[dispatch_uuid]
        workflow.update(status=WorkflowStatus.ERROR.value, finished_at=now, updated_at=now)

    # -- sending -------------------------------------------------------------------------------

    def claim_send(self, dispatch_uuid: str, step_index: int, now: str) -> bool:
        workflow = self.workflows[dispatch_uuid]
        step = workflow["steps"][step_index]
        # attribute_not_exists(steps[i].send_state) AND #status = :in_progress
        if "send_state" in step or workflow["status"] != "in_progress":
            return False
        step.update(send_state="sending", send_started_at=now)
        return True

    def record_send_accepted(
        self, dispatch_uuid: str, step_index: int, message_uuid: str, now: str, expires_at: int
    ) -> None:
        self.message_index[message_uuid] = {
            "dispatch_uuid": dispatch_uuid,
            "step_index": step_index,
            "expires_at": expires_at,
        }
        workflow = self.workflows[dispatch_uuid]
        workflow["steps"][step_index].update(send_state="accepted", message_uuid=message_uuid, sent_at=now)
        workflow["updated_at"] = now

    def record_send_failed(
        self, dispatch_uuid: str, step_index: int, error: dict[str, Any], now: str
    ) -> None:
        workflow = self.workflows[dispatch_uuid]
        workflow["steps"][step_index].update(send_state="failed", send_error=copy.deepcopy(error))
        workflow["updated_at"] = now

    # -- statuses ------------------------------------------------------------------------------

    def find_step_by_message_uuid(self, message_uuid: str) -> tuple[str, int] | None:
        item = self.message_index.get(message_uuid)
        if item is None:
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
        workflow = self.workflows.get(dispatch_uuid)
        if workflow is None or step_index >= len(workflow["steps"]):
            return False
        step = workflow["steps"][step_index]
        if "status_rank" in step and step["status_rank"] >= rank:  # only strictly forward
            return False
        step.update(status=status, status_rank=rank, status_at=status_at)
        if message_uuid:
            step.setdefault("message_uuid", message_uuid)  # if_not_exists
        for name, value in (extra or {}).items():
            step[name] = copy.deepcopy(value)
        return True

    def decide_step(
        self,
        dispatch_uuid: str,
        step_index: int,
        *,
        workflow_status: WorkflowStatus,
        outcome: StepOutcome,
        now: str,
    ) -> bool:
        workflow = self.workflows.get(dispatch_uuid)
        if (
            workflow is None
            or workflow["status"] != WorkflowStatus.IN_PROGRESS.value
            or workflow["current_step"] != step_index
        ):
            return False
        workflow.update(status=workflow_status.value, finished_at=now, updated_at=now)
        workflow["steps"][step_index].update(outcome=outcome.value, outcome_at=now)
        return True

    # -- what the state machine writes (statemachine/workflow.asl.json), for setting scenes -----

    def fail_over(self, dispatch_uuid: str, step_index: int, outcome: str, now: str) -> bool:
        """The "Fail over to next message" conditional updateItem."""
        workflow = self.workflows[dispatch_uuid]
        if workflow["status"] != WorkflowStatus.IN_PROGRESS.value or workflow["current_step"] != step_index:
            return False
        workflow["current_step"] = step_index + 1
        workflow["steps"][step_index].update(outcome=outcome, outcome_at=now)
        workflow["updated_at"] = now
        return True


class InMemoryAccountRepository:
    """Accounts by account_id, credentials by api_key, applications by application_id. Lists
    hold only what the real index projects (never a secret), sorted by its sort key."""

    _LISTED_ACCOUNT = ("account_id", "api_key", "name", "created_at", "updated_at")
    _LISTED_APPLICATION = ("application_id", "account_id", "name", "created_at")

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.credentials: dict[str, dict[str, Any]] = {}
        self.applications: dict[str, dict[str, Any]] = {}

    # -- reads -----------------------------------------------------------------------------------

    def get_credentials(self, api_key: str) -> dict[str, str] | None:
        item = self.credentials.get(api_key)
        return {"account_id": item["account_id"], "secret_hash": item["secret_hash"]} if item else None

    def get_account(self, account_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.accounts.get(account_id))

    def get_application(self, application_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.applications.get(application_id))

    def list_accounts(self) -> list[dict[str, Any]]:
        return [
            {name: item[name] for name in self._LISTED_ACCOUNT if name in item}
            for _, item in sorted(self.accounts.items())
        ]

    def list_applications(self, account_id: str) -> list[dict[str, Any]]:
        return [
            {name: item[name] for name in self._LISTED_APPLICATION if name in item}
            for _, item in sorted(self.applications.items())
            if item["account_id"] == account_id
        ]

    # -- writes ----------------------------------------------------------------------------------

    def create(
        self,
        *,
        account_id: str,
        api_key: str,
        secret_hash: str,
        signature_secret: str,
        now: str,
        name: str | None = None,
        callback_url: str | None = None,
    ) -> None:
        if account_id in self.accounts:
            raise accounts_module.AccountExists(f"account_id {account_id!r} already exists")
        if api_key in self.credentials:
            raise accounts_module.AccountExists(f"api_key {api_key!r} already exists")
        account = {
            "account_id": account_id,
            "api_key": api_key,
            "signature_secret": signature_secret,
            "created_at": now,
            "updated_at": now,
        }
        account.update({k: v for k, v in (("name", name), ("callback_url", callback_url)) if v})
        self.accounts[account_id] = account
        self.credentials[api_key] = {"account_id": account_id, "secret_hash": secret_hash, "created_at": now}

    def rotate_api_secret(self, account_id: str, *, now: str = "2025-01-01T00:00:00.000Z") -> str:
        account = self._existing(account_id)
        api_secret = credentials_module.new_api_secret()
        self.credentials[account["api_key"]]["secret_hash"] = credentials_module.hash_secret(api_secret)
        account["updated_at"] = now
        return api_secret

    def rotate_signature_secret(self, account_id: str, *, now: str = "2025-01-01T00:00:00.000Z") -> str:
        account = self._existing(account_id)
        account.update(signature_secret=credentials_module.new_signature_secret(), updated_at=now)
        return account["signature_secret"]

    def stage_signature_secret(self, account_id: str, *, now: str = "2025-01-01T00:00:00.000Z") -> str:
        account = self._existing(account_id)
        account.update(next_signature_secret=credentials_module.new_signature_secret(), updated_at=now)
        return account["next_signature_secret"]

    def activate_signature_secret(self, account_id: str, *, now: str = "2025-01-01T00:00:00.000Z") -> None:
        account = self._existing(account_id)
        if "next_signature_secret" not in account:
            raise NoStagedSecret(account_id)
        account.update(signature_secret=account.pop("next_signature_secret"), updated_at=now)

    def set_callback_url(
        self,
        account_id: str,
        url: str | None,
        *,
        now: str = "2025-01-01T00:00:00.000Z",
        allow_loopback: bool = False,
    ) -> None:
        if url is not None:
            url = accounts_module.validate_callback_url(url, allow_loopback=allow_loopback)
        account = self._existing(account_id)
        account.pop("callback_url", None)
        account.update({"updated_at": now} | ({"callback_url": url} if url else {}))

    def register_application(
        self,
        account_id: str,
        public_key_pem: str,
        name: str | None = None,
        *,
        now: str = "2025-01-01T00:00:00.000Z",
    ) -> str:
        public_key = normalized_public_key(public_key_pem)
        self._existing(account_id)
        application_id = new_application_id()
        self.applications[application_id] = {
            "application_id": application_id,
            "account_id": account_id,
            "public_key": public_key,
            "created_at": now,
        } | ({"name": name} if name else {})
        return application_id

    def _existing(self, account_id: str) -> dict[str, Any]:
        if account_id not in self.accounts:  # ConditionExpression attribute_exists(pk)
            raise accounts_module.AccountNotFound(account_id)
        return self.accounts[account_id]


# -- the canonical workflow --------------------------------------------------------------------

DISPATCH_UUID = "5b3f8a52-1f0e-4c57-9a8e-1c2d3e4f5a6b"
ACCOUNT_ID = "account-1"
STATUS_WEBHOOK_URL = "https://api.example.com/webhooks/message-status"
CREATED_AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
RETENTION = timedelta(days=30)

PAGE_ID, PSID = "PAGE_ID", "1234567890"
SMS_FROM, SMS_TO = "447700900000", "447700900001"
MESSENGER_TEXT, SMS_TEXT = "Hello", "Hello by SMS"
# Every value in the canonical request that is personal data (or message content).
PII = (PAGE_ID, PSID, SMS_FROM, SMS_TO, MESSENGER_TEXT, SMS_TEXT)

CANONICAL_BODY: dict[str, Any] = {
    "template": "failover",
    "workflow": [
        {
            "from": {"type": "messenger", "id": PAGE_ID},
            "to": {"type": "messenger", "id": PSID},
            "message": {"content": {"type": "text", "text": MESSENGER_TEXT}},
            "failover": {"expiry_time": 600, "condition_status": "read"},
        },
        {
            "from": {"type": "sms", "number": SMS_FROM},
            "to": {"type": "sms", "number": SMS_TO},
            "message": {"content": {"type": "text", "text": SMS_TEXT}},
        },
    ],
}


def canonical_request() -> WorkflowRequest:
    return parse_workflow_request(copy.deepcopy(CANONICAL_BODY))


def canonical_item(
    *, dispatch_uuid: str = DISPATCH_UUID, status_webhook_url: str | None = STATUS_WEBHOOK_URL
) -> dict[str, Any]:
    return new_workflow_item(
        canonical_request(),
        dispatch_uuid=dispatch_uuid,
        account_id=ACCOUNT_ID,
        status_webhook_url=status_webhook_url,
        created_at=CREATED_AT,
        retention=RETENTION,
    )


def stored_canonical_workflow(
    workflows: InMemoryWorkflowRepository, *, status_webhook_url: str | None = STATUS_WEBHOOK_URL
) -> str:
    """Store the canonical workflow, as create-workflow does; return its dispatch_uuid."""
    workflows.create(canonical_item(status_webhook_url=status_webhook_url))
    return DISPATCH_UUID
