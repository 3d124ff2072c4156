"""Run the deployed Lambda functions as Lambda does, without Docker: each function gets its own
execution environments, worker processes that serve one invocation at a time. A function's
handler is imported once (in the background when the stack starts), and its environments are
forks of that process, started when invocations need them and reused afterwards (see
local_stack/lambda_worker.py). A function has up to `concurrency` environments; more concurrent
invocations wait for a free one. So a status webhook never waits behind a create, handlers keep
the one-request-per-process model Powertools relies on, and the stack uses more than one core.

Workers talk to moto over HTTP (AWS_ENDPOINT_URL), as the deployed functions talk to AWS, with
their own function's environment variables. moto's Lambda backend (which Step Functions' Lambda
tasks and `lambda:Invoke` reach) is routed here; so are the local HTTP API and event sources.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from local_stack.lambda_worker import error_payload, read_frame, send_request, write_frames

ROOT = Path(__file__).resolve().parent.parent
# Lambda allows 10 s to initialise; a loaded 2-core machine importing several handlers at once
# can take longer, and a slow start here is not the function's fault.
INIT_TIMEOUT = 120


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # physical name
    logical_id: str
    arn: str
    handler: str  # module.attribute
    paths: tuple[str, ...]  # code directory, then layer directories
    environment: dict[str, str] = field(hash=False)
    memory: int = 128
    timeout: int = 3


class WorkerLost(Exception):
    """The worker process died or timed out during an invocation."""


class _Worker:
    def __init__(self, sock: socket.socket, pid: int) -> None:
        self.sock, self.pid = sock, pid

    def call(self, header: dict[str, Any], event: bytes, timeout: float) -> tuple[bytes, dict[str, Any]]:
        self.sock.settimeout(timeout)
        try:
            write_frames(self.sock, json.dumps(header).encode(), event)
            answer = read_frame(self.sock)
            payload = read_frame(self.sock) if answer is not None else None
        except TimeoutError:
            raise WorkerLost(f"Task timed out after {header['timeout']:.2f} seconds") from None
        except OSError as error:
            raise WorkerLost(f"The worker failed: {error}") from None
        if payload is None:
            raise WorkerLost("Runtime exited without providing a reason")
        return payload, json.loads(answer)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)


class _Zygote:
    """The process that forks workers (see lambda_worker.py)."""

    def __init__(self, environment: dict[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._control = ours
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local_stack.lambda_worker", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            cwd=ROOT,
            env={**environment, "PYTHONUNBUFFERED": "1"},
            # Not in the terminal's process group: Ctrl-C stops the stack, and the stack stops us.
            start_new_session=True,
        )
        theirs.close()

    def _request(self, spec: FunctionSpec, fds: list[int]) -> None:
        request = {
            "name": spec.name,
            "environment": spec.environment,
            "paths": list(spec.paths),
            "handler": spec.handler,
        }
        with self._lock:
            send_request(self._control, request, fds)

    def prewarm(self, spec: FunctionSpec) -> None:
        """Have the function's zygote import its handler now, ahead of its first invocation."""
        self._request(spec, [])

    def spawn(self, spec: FunctionSpec) -> _Worker:
        """A new execution environment of the function (its cold start, if it is the first)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._request(spec, [theirs.fileno()])
        except OSError:
            ours.close()
            raise WorkerLost("The local Lambda runtime is stopped") from None
        finally:
            theirs.close()
        ours.settimeout(INIT_TIMEOUT)
        try:
            hello = read_frame(ours)
        except OSError:
            hello = None
        if hello is None:
            ours.close()
            raise WorkerLost("The execution environment did not start")
        return _Worker(ours, json.loads(hello)["pid"])

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._control.shutdown(socket.SHUT_RDWR)
        self._control.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class _Pool:
    """A function's execution environments: idle ones are reused, new ones started up to `limit`."""

    def __init__(self, spec: FunctionSpec, zygote: _Zygote, limit: int, runtime: LambdaRuntime) -> None:
        self.spec, self._zygote, self._limit, self._runtime = spec, zygote, limit, runtime
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._starting = 0
        self._available = threading.Condition()
        # The AWS actions (IAM names) the function's environments reported calling.
        self.aws_calls: set[str] = set()

    def invoke(self, event: bytes) -> tuple[bytes, bool, float]:
        """(payload, failed, seconds the handler ran)."""
        try:
            worker = self._acquire()
        except WorkerLost as error:
            return error_payload(error, "Runtime.Unknown"), True, 0.0
        header = {
            "function_name": self.spec.name,
            "function_arn": self.spec.arn,
            "memory": self.spec.memory,
            "timeout": self.spec.timeout,
            "request_id": str(uuid.uuid4()),
            "metrics": self._runtime.record_metrics,
        }
        try:
            payload, answer = worker.call(header, event, timeout=self.spec.timeout)
        except WorkerLost as error:
            self._discard(worker)
            error_type = "Sandbox.Timedout" if "timed out" in str(error) else "Runtime.ExitError"
            return error_payload(error, error_type), True, 0.0
        self._release(worker)
        if answer.get("metrics"):
            self._runtime.emf_records.extend(answer["metrics"])
        if answer.get("aws_calls"):
            with self._available:
                self.aws_calls.update(answer["aws_calls"])
        return payload, bool(answer["failed"]), float(answer.get("run_seconds", 0.0))

    def _acquire(self) -> _Worker:
        with self._available:
            while not self._idle and len(self._all) + self._starting >= self._limit:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._starting += 1
        try:
            worker = self._zygote.spawn(self.spec)
        except BaseException:
            with self._available:
                self._starting -= 1
                self._available.notify()
            raise
        with self._available:
            self._starting -= 1
            self._all.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._available:
            self._idle.append(worker)
            self._available.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._available:
            self._all.discard(worker)
            self._available.notify()

    def stop(self) -> None:
        with self._available:
            workers, self._idle, self._all = list(self._all), [], set()
        for worker in workers:
            worker.kill()

    @property
    def pids(self) -> list[int]:
        with self._available:
            return [worker.pid for worker in self._all]


class LambdaRuntime:
    """Maps deployed function names to their specs, and invokes them in their own workers."""

    def __init__(self, concurrency: int = 4, concurrency_by_function: dict[str, int] | None = None) -> None:
        self.concurrency = concurrency
        # Logical id -> its own limit, for functions that need more environments than the rest.
        self.concurrency_by_function = dict(concurrency_by_function or {})
        self._specs: dict[str, FunctionSpec] = {}
        self._pools: dict[str, _Pool] = {}
        self._zygote: _Zygote | None = None
        self._lock = threading.Lock()
        # The latest invocations, for benchmarks; bounded for long runs.
        self.invocations: collections.deque[dict[str, Any]] = collections.deque(maxlen=100_000)
        # With record_metrics, the functions' Powertools metrics are on (the local stack turns
        # them off: they would flood the console) and their EMF records are kept here instead of
        # printed (see lambda_worker.py).
        self.record_metrics = False
        self.emf_records: list[dict[str, Any]] = []

    def register(self, spec: FunctionSpec) -> None:
        self._specs[spec.name] = spec

    def start(self, environment: dict[str, str]) -> None:
        """Start the zygote now (it imports in the background), with what every function shares."""
        self._zygote = _Zygote(environment)

    def prewarm(self) -> None:
        """Import every registered function's handler now, in the background (each in its own
        function zygote), so that first invocations only wait for a fork."""
        assert self._zygote is not None
        for spec in self._specs.values():
            self._zygote.prewarm(spec)

    def stop(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
            zygote, self._zygote = self._zygote, None
        for pool in pools:
            pool.stop()
        if zygote is not None:
            zygote.stop()

    @property
    def pids(self) -> list[int]:
        """The zygote's and the workers' process ids."""
        with self._lock:
            pools, zygote = list(self._pools.values()), self._zygote
        return ([zygote.process.pid] if zygote else []) + [pid for pool in pools for pid in pool.pids]

    def _pool(self, function_name: str) -> _Pool:
        with self._lock:
            if self._zygote is None:
                raise RuntimeError("the local Lambda runtime is not started")
            pool = self._pools.get(function_name)
            if pool is None:
                spec = self._specs[function_name]
                limit = self.concurrency_by_function.get(spec.logical_id, self.concurrency)
                pool = self._pools[function_name] = _Pool(spec, self._zygote, limit, self)
            return pool

    @property
    def aws_calls(self) -> dict[str, set[str]]:
        """Function logical id -> the AWS actions (IAM names, e.g. `dynamodb:GetItem`) its code
        has called so far, as its execution environments report them (see lambda_worker.py)."""
        with self._lock:
            pools = list(self._pools.values())
        calls = {}
        for pool in pools:
            with pool._available:
                if pool.aws_calls:
                    calls[pool.spec.logical_id] = set(pool.aws_calls)
        return calls

    def invoke(self, function_name: str, event: bytes | str | None) -> tuple[bytes, bool]:
        """Call the function with the JSON event; return (payload, failed)."""
        if isinstance(event, str):
            event = event.encode()
        started = time.perf_counter()
        payload, failed, run_seconds = self._pool(function_name).invoke(event or b"{}")
        self.invocations.append(
            {
                "function": self._specs[function_name].logical_id,
                "failed": failed,
                "seconds": time.perf_counter() - started,  # waiting for an environment included
                "run_seconds": run_seconds,  # in the handler
            }
        )
        return payload, failed

    def install(self) -> None:
        """Route moto's no-Docker Lambda invocations (Step Functions tasks, lambda:Invoke) here."""
        runtime = self

        def invoke(backend, function_name, qualifier, body, headers, response_headers):
            function = backend.get_function(function_name, qualifier)
            payload, failed = runtime.invoke(function.function_name, body)
            if failed:
                response_headers["x-amz-function-error"] = "Unhandled"
            return payload

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
