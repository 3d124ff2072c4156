"""Run the deployed Lambda functions in-process (no Docker): moto's no-Docker Lambda backend is
given an `invoke` that imports the function's handler from its code directory and calls it."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that Powertools and our handlers use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InProcessLambdaRuntime:
    """Maps deployed function names to their code directory and handler, and invokes them."""

    def __init__(self) -> None:
        self._sources: dict[str, tuple[str, Path, str]] = {}
        self._handlers: dict[str, Callable] = {}
        self._lock = threading.Lock()
        self._http_lock = threading.Lock()
        self.invocations: list[dict[str, Any]] = []
        # The logical id of the function this thread is running, if any (e.g. to attribute the
        # AWS calls made, as tests/integration/test_permissions_used.py does).
        self.running = threading.local()

    def register(self, function_name: str, *, logical_id: str, code_dir: Path, handler: str) -> None:
        self._sources[function_name] = (logical_id, code_dir, handler)

    def _handler(self, function_name: str) -> Callable:
        with self._lock:
            if function_name not in self._handlers:
                logical_id, code_dir, handler = self._sources[function_name]
                module_name, _, attribute = handler.rpartition(".")
                # Every function has an `app` module: give each its own name in sys.modules.
                spec = importlib.util.spec_from_file_location(
                    f"{logical_id}_{module_name}", code_dir / f"{module_name.replace('.', '/')}.py"
                )
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                self._handlers[function_name] = getattr(module, attribute)
            return self._handlers[function_name]

    def invoke(self, function: Any, body: bytes | str | None) -> tuple[bytes, bool]:
        """Call the function with the JSON event `body`; return (payload, failed)."""
        event = json.loads(body) if body else {}
        context = LambdaContext(
            function_name=function.function_name,
            invoked_function_arn=function.function_arn,
            memory_limit_in_mb=int(function.memory_size or 128),
            timeout_seconds=int(function.timeout or 3),
        )
        started = time.perf_counter()
        outer, self.running.function = (
            getattr(self.running, "function", None),
            self._sources[function.function_name][0],
        )
        try:
            if "http" in (event.get("requestContext") or {}):
                # Powertools' HTTP resolver keeps the current request in class-level state, which
                # Lambda's one-request-per-process model makes safe; in this one process, API
                # requests take turns (they are short; Step Functions and SQS tasks do not wait).
                with self._http_lock:
                    result = self._handler(function.function_name)(event, context)
            else:
                result = self._handler(function.function_name)(event, context)
            payload, failed = json.dumps(result).encode(), False
        except Exception as error:  # the Lambda service reports any exception as a function error
            payload = json.dumps(
                {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
            ).encode()
            failed = True
        finally:
            self.running.function = outer
        self.invocations.append(
            {
                "function": self._sources[function.function_name][0],
                "failed": failed,
                "seconds": time.perf_counter() - started,
            }
        )
        return payload, failed

    def install(self) -> None:
        """Route moto's no-Docker Lambda invocations to this runtime."""
        runtime = self

        def invoke(backend, function_name, qualifier, body, headers, response_headers):
            function = backend.get_function(function_name, qualifier)
            payload, failed = runtime.invoke(function, body)
            if failed:
                response_headers["x-amz-function-error"] = "Unhandled"
            return payload

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
