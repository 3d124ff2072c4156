"""Waking a workflow's execution: the task token its wait stored, handed back to Step Functions.

A ring is best effort. DynamoDB's conditional writes decide every step; the ring only spares the
execution the rest of its wait. A token that is stale (the wait ended, the execution stopped),
unknown, or refused for any other reason changes nothing: the failure is logged and dropped, and
the execution goes on at its Wait's end as it would have without a ring.
"""

from __future__ import annotations

import hashlib
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dispatch.observability import logger


def token_fingerprint(task_token: str) -> str:
    """What logs may say of a token: enough to match two log lines, useless to call back with."""
    return hashlib.sha256(task_token.encode()).hexdigest()[:12]


class ExecutionWaker:
    """Ends a waiting task with a named error (SendTaskFailure), which the state machine catches."""

    def __init__(self, stepfunctions: Any) -> None:
        self._stepfunctions = stepfunctions

    def ring(self, task_token: str, error: str, cause: str) -> bool:
        """True if Step Functions took the token. Never raises: see the module docstring."""
        try:
            self._stepfunctions.send_task_failure(taskToken=task_token, error=str(error), cause=cause)
        except ClientError as failure:
            # InvalidToken, TaskTimedOut, TaskDoesNotExist: the wait already ended; others: throttling.
            code = failure.response.get("Error", {}).get("Code", "ClientError")
            logger.info("Execution not woken", extra={"reason": code, "token": token_fingerprint(task_token)})
            return False
        except BotoCoreError as failure:
            logger.warning(
                "Execution not woken",
                extra={"reason": type(failure).__name__, "token": token_fingerprint(task_token)},
            )
            return False
        logger.info("Execution woken", extra={"error": str(error), "token": token_fingerprint(task_token)})
        return True
