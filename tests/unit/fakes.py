"""Stand-ins for the ports whose behaviour is trivial (dispatch.domain.ports), and the canonical
workflow the unit tests share.

The repositories (the workflow and account stores, whose conditional writes are the rules) have
no stand-in: tests use the real ones on a moto table (see conftest.py and dynamodb.py), so that
each rule exists once. mypy checks that every fake here still matches its port.
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dispatch.api.examples import example_workflow
from dispatch.domain.create_body import CreateBody, parse_create_body
from dispatch.domain.errors import WorkflowNotStarted
from dispatch.domain.ports import Clock, Executions, MessageSender, SendResult, WorkflowStore
from dispatch.domain.workflows import new_workflow_item


class RecordingExecutions:
    """Step Functions as the domain sees it: starts and stops are recorded; with `refuse`, a
    start fails as when Step Functions cannot be reached."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.started: list[tuple[str, dict[str, Any]]] = []
        self.stopped: list[str] = []

    def start(self, dispatch_uuid: str, execution_input: dict[str, Any]) -> None:
        if self.refuse:
            raise WorkflowNotStarted(dispatch_uuid)
        self.started.append((dispatch_uuid, execution_input))

    def stop(self, dispatch_uuid: str) -> None:
        self.stopped.append(dispatch_uuid)


class ScriptedMessagesApi:
    """Answers each send with the next scripted SendResult and keeps the bodies it was given."""

    def __init__(self, *results: SendResult) -> None:
        self.results = list(results)
        self.sent: list[dict[str, Any]] = []

    def send(self, body: dict[str, Any]) -> SendResult:
        self.sent.append(body)
        return self.results.pop(0)


def fixed_clock(moment: datetime) -> Clock:
    return lambda: moment


if TYPE_CHECKING:  # what mypy checks: each fake conforms to its port
    _executions: Executions = RecordingExecutions()
    _sender: MessageSender = ScriptedMessagesApi()


# -- the canonical workflow --------------------------------------------------------------------

DISPATCH_UUID = "5b3f8a52-1f0e-4c57-9a8e-1c2d3e4f5a6b"
ACCOUNT_ID = "account-1"
STATUS_WEBHOOK_URL = "https://api.example.com/webhooks/message-status"
CREATED_AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
RETENTION = timedelta(days=30)

# The project's one example body (dispatch/api/example_workflow.json): Messenger, then SMS.
CANONICAL_BODY: dict[str, Any] = example_workflow()
_MESSENGER, _SMS = CANONICAL_BODY["workflow"]
PAGE_ID, PSID = _MESSENGER["from"]["id"], _MESSENGER["to"]["id"]
SMS_FROM, SMS_TO = _SMS["from"]["number"], _SMS["to"]["number"]
MESSENGER_TEXT, SMS_TEXT = _MESSENGER["message"]["content"]["text"], _SMS["message"]["content"]["text"]
EXPIRY_TIME = _MESSENGER["failover"]["expiry_time"]
# Every value in the canonical request that is personal data (or message content).
PII = (PAGE_ID, PSID, SMS_FROM, SMS_TO, MESSENGER_TEXT, SMS_TEXT)


def canonical_request() -> CreateBody:
    return parse_create_body(example_workflow())


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
    workflows: WorkflowStore, *, status_webhook_url: str | None = STATUS_WEBHOOK_URL
) -> str:
    """Store the canonical workflow, as create-workflow does; return its dispatch_uuid."""
    workflows.create(canonical_item(status_webhook_url=status_webhook_url))
    return DISPATCH_UUID


@functools.cache
def rsa_application() -> tuple[Any, dict[str, str]]:
    """An RSA key pair and the application (account-1) registered with its public key: what a
    JWT-authenticating client holds and what the account stores. Made once per test run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from dispatch.domain.applications import normalized_public_key

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    application = {
        "application_id": str(uuid.uuid4()),
        "account_id": "account-1",
        "public_key": normalized_public_key(public_pem),
    }
    return key, application
