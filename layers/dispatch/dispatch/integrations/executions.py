"""The state machine's executions: one per workflow, named by its dispatch_uuid."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dispatch.domain.errors import WorkflowNotStarted
from dispatch.observability import logger


class StepFunctionsExecutions:
    """Starts and stops the executions of one state machine."""

    def __init__(self, stepfunctions: Any, state_machine_arn: str) -> None:
        self._stepfunctions = stepfunctions
        self._state_machine_arn = state_machine_arn
        self._execution_arn_prefix = state_machine_arn.replace(":stateMachine:", ":execution:")

    def start(self, dispatch_uuid: str, execution_input: dict[str, Any]) -> None:
        """Start the workflow's execution; WorkflowNotStarted when Step Functions refuses or
        cannot be reached."""
        try:
            self._stepfunctions.start_execution(
                stateMachineArn=self._state_machine_arn, name=dispatch_uuid, input=json.dumps(execution_input)
            )
        except (ClientError, BotoCoreError) as error:
            logger.exception("Could not start the execution")
            raise WorkflowNotStarted(dispatch_uuid) from error

    def stop(self, dispatch_uuid: str) -> None:
        # An execution that never started, or is gone, has nothing left to stop.
        with contextlib.suppress(self._stepfunctions.exceptions.ExecutionDoesNotExist):
            self._stepfunctions.stop_execution(
                executionArn=f"{self._execution_arn_prefix}:{dispatch_uuid}",
                cause="Cancelled through the API",
            )
