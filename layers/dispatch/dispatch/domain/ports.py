"""What the domain needs from the outside world, as typing.Protocols.

Domain functions take their dependencies as arguments typed with these ports; the adapters
(dispatch.storage, dispatch.integrations) and the tests' fakes conform to them, and mypy checks
that they do wherever one is passed. Nothing here imports an adapter's module (the callback
events' model is named for type checkers only): the arrows point from the adapters to the domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from dispatch.domain.statuses import StepOutcome, WorkflowStatus

if TYPE_CHECKING:  # a function that publishes no callback does not import them
    from dispatch.integrations.callback_events import CallbackEvent


class Clock(Protocol):
    """The current time, timezone-aware (dispatch.clock.utc_now; tests pass a fixed one)."""

    def __call__(self) -> datetime: ...


class WorkflowStore(Protocol):
    """Workflow items and the message-uuid index; every decision is a conditional write that
    answers False when another writer got there first (adapter: WorkflowRepository)."""

    def create(self, item: dict[str, Any]) -> None: ...

    def get(self, dispatch_uuid: str) -> dict[str, Any] | None: ...

    def mark_start_failed(self, dispatch_uuid: str, now: str) -> None: ...

    def claim_send(self, dispatch_uuid: str, step_index: int, now: str) -> bool: ...

    def record_send_accepted(
        self, dispatch_uuid: str, step_index: int, message_uuid: str, now: str, expires_at: int
    ) -> None: ...

    def record_send_failed(
        self, dispatch_uuid: str, step_index: int, error: Mapping[str, Any], now: str
    ) -> None: ...

    def find_step_by_message_uuid(self, message_uuid: str) -> tuple[str, int] | None: ...

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
    ) -> bool: ...

    def decide_step(
        self,
        dispatch_uuid: str,
        step_index: int,
        *,
        workflow_status: WorkflowStatus,
        outcome: StepOutcome,
        now: str,
    ) -> StepDecided | None: ...

    def fail_step(
        self, dispatch_uuid: str, step_index: int, *, outcome: StepOutcome, now: str
    ) -> StepDecided | None: ...

    def cancel(self, dispatch_uuid: str, step_index: int, now: str) -> bool: ...


class AccountStore(Protocol):
    """Accounts, their credentials and applications, as authentication, sign-up and new
    workflows need them (adapter: AccountRepository)."""

    def get_credentials(self, api_key: str) -> dict[str, str] | None: ...

    def get_application(self, application_id: str) -> dict[str, Any] | None: ...

    def get_account(self, account_id: str) -> dict[str, Any] | None: ...

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
    ) -> None: ...


class Executions(Protocol):
    """One state-machine execution per workflow, named by its dispatch_uuid (adapter:
    StepFunctionsExecutions). `start` raises WorkflowNotStarted when it cannot start one."""

    def start(self, dispatch_uuid: str, execution_input: dict[str, Any]) -> None: ...

    def stop(self, dispatch_uuid: str) -> None: ...


# The values below are NamedTuples rather than dataclasses: they are defined at every cold start
# of the hot path, and a dataclass costs about a millisecond to define (docs/performance.md).
NO_ERROR: Mapping[str, Any] = MappingProxyType({})


class SendResult(NamedTuple):
    """What became of one send through the Messages API."""

    accepted: bool
    message_uuid: str | None = None
    # True when the request may have reached the provider but no answer came back: the
    # message may have gone out, so it must not be sent again.
    unknown: bool = False
    error: Mapping[str, Any] = NO_ERROR


class MessageSender(Protocol):
    """Sends one Messages API v1 body (adapter: MessagesApiClient)."""

    def send(self, body: dict[str, Any]) -> SendResult: ...


class Publish(Protocol):
    """Puts a callback event on its way to the customer (adapter: CallbackQueue.publish)."""

    def __call__(self, event: CallbackEvent) -> None: ...


class StepDecided(NamedTuple):
    """A step decided by our own conditional write, with the task token it took from the item
    (None when the execution had not stored one yet, or it belongs to another step)."""

    step_index: int
    task_token: str | None = None

    @classmethod
    def from_old_values(cls, step_index: int, old: dict[str, Any]) -> StepDecided:
        stored_for = old.get("task_token_step")
        token = old.get("task_token") if stored_for is not None and int(stored_for) == step_index else None
        return cls(step_index=step_index, task_token=token)
