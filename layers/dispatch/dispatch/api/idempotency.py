"""Idempotency-Key on create: for a while, the same account and key get the first request's
answer, and nothing new starts (Powertools idempotency, records in the workflows table)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dispatch import aws
from dispatch.domain.errors import IdempotencyKeyInProgress, IdempotencyKeyReused

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext


class IdempotentCreates:
    """Runs a create once per (account, Idempotency-Key) for `expires_after_hours`; the body
    must match the first request's (IdempotencyKeyReused otherwise). A concurrent twin waits
    for the first answer, up to `attempts` x `pause` seconds (IdempotencyKeyInProgress after).

    Powertools' idempotency utility is imported, and its DynamoDB store made (on the process's
    DynamoDB client unless `client` is given), by the first request that has a key: importing it
    costs a cold start about a fifth of a bare boto3 function's, and most creates have no key."""

    def __init__(
        self,
        *,
        table_name: str,
        expires_after_hours: int,
        attempts: int = 25,
        pause_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        client: Any = None,
    ) -> None:
        self._attempts, self._pause_seconds, self._sleep = attempts, pause_seconds, sleep
        self._table_name, self._expires_after_hours, self._client = table_name, expires_after_hours, client
        self._context: LambdaContext | None = None
        self.config: IdempotencyConfig | None = None
        self._create_once: Callable[..., dict[str, Any]] | None = None

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Lets a record in progress expire with the invocation (call it in the handler)."""
        self._context = context
        if self.config is not None:
            self.config.register_lambda_context(context)

    def _idempotent(self) -> Callable[..., dict[str, Any]]:
        if self._create_once is None:
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )

            self.config = IdempotencyConfig(
                event_key_jmespath="[account_id, key]",
                payload_validation_jmespath="body",
                expires_after_seconds=self._expires_after_hours * 3600,
                hash_function="sha256",
                response_hook=lambda response, record: {**response, "replayed": True},
            )
            if self._context is not None:
                self.config.register_lambda_context(self._context)
            store = DynamoDBPersistenceLayer(
                table_name=self._table_name,
                key_attr="pk",
                expiry_attr="expires_at",
                status_attr="idempotency_status",
                # Not a boto3 session of its own (what Powertools makes by default).
                boto3_client=self._client or aws.client("dynamodb"),
            )
            # Records are keyed "<prefix>#<hash>": the prefix the handler's own decorated function
            # gave them before this moved to the layer, so that earlier records still replay.
            function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "test-func")
            self._create_once = idempotent_function(
                data_keyword_argument="replay",
                persistence_store=store,
                config=self.config,
                key_prefix=f"{function_name}.app._start_idempotently",
            )(_run)
        return self._create_once

    def create(
        self, *, account_id: str, key: str | None, body: bytes, start: Callable[[], str]
    ) -> tuple[str, bool]:
        """(dispatch_uuid, replayed): `start()`'s answer, or with a key already used by this
        account, the first request's answer (replayed) without calling `start`."""
        if key is None:
            return start(), False
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        create_once = self._idempotent()
        replay = {"account_id": account_id, "key": key, "body": json.loads(body)}
        for _ in range(self._attempts):
            try:
                created = create_once(replay=replay, start=start)
            except IdempotencyAlreadyInProgressError:
                self._sleep(self._pause_seconds)
            except IdempotencyValidationError:
                raise IdempotencyKeyReused() from None
            else:
                return created["dispatch_uuid"], created.get("replayed", False)
        raise IdempotencyKeyInProgress()


def _run(*, replay: dict[str, Any], start: Callable[[], str]) -> dict[str, Any]:
    # What is stored, and answered again on a replay.
    return {"dispatch_uuid": start()}
