"""Lambda execution environments for the local stack, as processes.

`python -m local_stack.lambda_worker <fd>` is the runtime's zygote: it imports the libraries every
function uses (boto3, Powertools, pydantic, ...) once, then reads requests on the control socket
`fd`. For each function it forks a function zygote, which takes the function's environment and
code paths and imports its handler once (the function's cold start); each execution environment
of that function is then a fork of its function zygote, serving invocations one at a time on its
own socket, as Lambda's environments do. Forks of processes that have done the imports make a
new environment cost milliseconds instead of seconds. Every zygote is single-threaded.

No process outlives the stack: the zygote exits when its control socket closes (the stack
stopped or died); function zygotes and environments get SIGKILL when their parent exits
(Linux), and leave when their own socket closes.

Frames on an environment's socket: a 4-byte big-endian length, then the bytes. It first sends
{"pid": ...}; an invocation is two frames (a JSON header, the event), and so is its answer (a
JSON header {"failed": bool, "run_seconds": float, "aws_calls": [...]}, the payload).
`run_seconds` is how long the handler ran. `aws_calls` are the AWS actions (IAM names, e.g.
`dynamodb:GetItem`) the function called that this environment has not reported yet, its cold
start's included: the runtime keeps them per function, so a test can compare them with what the
function's permissions.json declares (tests/integration/test_permissions_used.py). With
"metrics": true in the invocation's header, the function's Powertools metrics are on for that
invocation, and the EMF records it printed come back in the answer as "metrics" instead of being
printed (tests/integration/test_metrics.py reads them).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import io
import json
import os
import signal
import socket
import struct
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

_LENGTH = struct.Struct(">I")
PR_SET_PDEATHSIG = 1
# boto3 service name -> IAM action prefix, where they differ.
IAM_PREFIXES = {"stepfunctions": "states"}
# The AWS actions called and not reported yet (a set: a few distinct names per function).
_aws_calls: set[str] = set()


def read_frame(sock: socket.socket) -> bytes | None:
    """One frame, or None when the peer closed the socket."""
    header = _read_exactly(sock, _LENGTH.size)
    if header is None:
        return None
    return _read_exactly(sock, _LENGTH.unpack(header)[0])


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def write_frames(sock: socket.socket, *frames: bytes) -> None:
    sock.sendall(b"".join(_LENGTH.pack(len(frame)) + frame for frame in frames))


class LambdaContext:
    """The attributes of the Lambda context object that Powertools and our handlers use."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.function_name = header["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = header["function_arn"]
        self.memory_limit_in_mb = int(header["memory"])
        self.aws_request_id = header.get("request_id") or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + float(header["timeout"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_payload(error: BaseException, error_type: str | None = None) -> bytes:
    """The Lambda service's shape of an unhandled function error."""
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": error_type or type(error).__name__,
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
    ).encode()


# -- an execution environment ------------------------------------------------------------------


def load_handler(spec: dict[str, Any]) -> tuple[Any, Exception | None]:
    """Take the function's environment and paths, import its handler: (handler, init error)."""
    os.environ.update(spec["environment"])
    # The function's code first, then its layers: /var/task and /opt/python on Lambda.
    sys.path[:0] = spec["paths"]
    module_name, _, attribute = spec["handler"].rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute), None
    except Exception as error:  # reported on every invocation, as Lambda reports an init error
        return None, error


def serve(handler: Any, init_error: Exception | None, sock: socket.socket) -> None:
    """Answer invocations until the socket closes."""
    write_frames(sock, json.dumps({"pid": os.getpid()}).encode())
    while True:
        header_frame = read_frame(sock)
        event = read_frame(sock) if header_frame is not None else None
        if event is None:
            return
        header = json.loads(header_frame)
        started = time.perf_counter()
        if init_error is not None:
            failed, payload = True, error_payload(init_error, "Runtime.ImportModuleError")
        else:
            printed = io.StringIO()
            with _metrics_on(printed) if header.get("metrics") else contextlib.nullcontext():
                try:
                    result = handler(json.loads(event) if event else {}, LambdaContext(header))
                    failed, payload = False, json.dumps(result).encode()
                except Exception as error:  # the Lambda service reports any exception as a function error
                    failed, payload = True, error_payload(error)
        answer: dict[str, Any] = {
            "failed": failed,
            "run_seconds": time.perf_counter() - started,
            "aws_calls": sorted(_aws_calls),
        }
        if header.get("metrics"):
            answer["metrics"] = _emf_records(printed.getvalue())
        _aws_calls.clear()
        write_frames(sock, json.dumps(answer).encode(), payload)


@contextlib.contextmanager
def _metrics_on(printed: io.StringIO) -> Iterator[None]:
    """Powertools metrics on (it reads the variable when it flushes), stdout into `printed`."""
    disabled = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    try:
        with contextlib.redirect_stdout(printed):
            yield
    finally:
        if disabled is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = disabled
        # What was not a metric is printed as usual.
        for line in printed.getvalue().splitlines():
            if not _emf_records(line):
                print(line)


def _emf_records(text: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric-format records among the lines of `text`."""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "_aws" in record:
            records.append(record)
    return records


def record_aws_calls() -> None:
    """Note the IAM action of every AWS call boto3 makes in this process and its forks."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def recorded(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        _aws_calls.add(f"{IAM_PREFIXES.get(service, service)}:{operation_name}")
        return original(client, operation_name, api_params)

    BaseClient._make_api_call = recorded  # type: ignore[method-assign]


# -- the zygotes -----------------------------------------------------------------------------------


def preload() -> None:
    """What every function imports; failures are left for the functions to report."""
    for name in (
        "boto3",
        "boto3.dynamodb.conditions",
        "botocore.exceptions",
        "requests",
        "jwt",
        "pydantic",
        "aws_lambda_powertools",
        "aws_lambda_powertools.utilities.idempotency",
        "aws_lambda_powertools.utilities.parameters",
        "aws_lambda_powertools.utilities.batch",
        "aws_lambda_powertools.utilities.typing",
    ):
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        import boto3

        # Service models are parsed once here and shared by every function's default session
        # (credentials, region and endpoint are the same for all functions).
        boto3.resource("dynamodb")
        for service in ("dynamodb", "sqs", "stepfunctions", "secretsmanager"):
            boto3.client(service)


def _forked(parent: int) -> None:
    """In a new child: SIGKILL it when its parent exits (Linux), default signals."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent exited before prctl took effect
        os._exit(0)


def _keep_only_fds(*keep: int) -> None:
    """In a new child: close every inherited descriptor but stdio and `keep`, so that no process
    holds another environment's socket open (its end must close when that environment dies)."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def send_request(control: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """One frame on a control socket (a stream: portable where SOCK_SEQPACKET is not), with the
    descriptors attached to its first bytes."""
    frame = json.dumps(request).encode()
    data = _LENGTH.pack(len(frame)) + frame
    sent = socket.send_fds(control, [data], fds)
    if sent < len(data):
        control.sendall(data[sent:])


def receive_request(control: socket.socket) -> tuple[dict[str, Any], int | None] | None:
    """One request (a JSON object, and a socket fd unless it only warms a function up), or None
    when the control socket closed. The length is read alone, so that no read reaches into the
    next frame (whose descriptors would be lost)."""
    try:
        header, fds, _, _ = socket.recv_fds(control, _LENGTH.size, 1)
        if header and len(header) < _LENGTH.size:
            header += _read_exactly(control, _LENGTH.size - len(header)) or b""
        if len(header) < _LENGTH.size:
            return None
        frame = _read_exactly(control, _LENGTH.unpack(header)[0])
    except OSError:
        return None
    if frame is None:
        return None
    return json.loads(frame), (fds[0] if fds else None)


def function_zygote(spec: dict[str, Any], control: socket.socket) -> None:
    """Import one function's handler, then fork an execution environment per request."""
    handler, init_error = load_handler(spec)
    me = os.getpid()
    while (request := receive_request(control)) is not None:
        _, fd = request
        if fd is None:
            continue
        if os.fork() == 0:
            _forked(me)
            control.close()  # the handler's own files, opened at import, stay open
            try:
                serve(handler, init_error, socket.socket(fileno=fd))
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)
        os.close(fd)


def main(control_fd: int) -> None:
    # Ctrl-C belongs to the stack, which stops us by closing the control socket.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    control = socket.socket(fileno=control_fd)
    me = os.getpid()
    preload()
    with contextlib.suppress(Exception):
        record_aws_calls()
    functions: dict[str, socket.socket] = {}  # function name -> its zygote's control socket

    def function_zygote_for(spec: dict[str, Any]) -> socket.socket:
        if spec["name"] not in functions:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            if os.fork() == 0:
                _forked(me)
                signal.signal(signal.SIGCHLD, signal.SIG_IGN)
                for inherited in (control, ours, *functions.values()):
                    inherited.detach()  # closed below with the rest (the handler is not imported yet)
                _keep_only_fds(theirs.fileno())
                try:
                    function_zygote(spec, theirs)
                finally:
                    os._exit(0)
            theirs.close()
            functions[spec["name"]] = ours
        return functions[spec["name"]]

    while (request := receive_request(control)) is not None:
        spec, fd = request
        if fd is None:  # a warm-up: the function zygote imports the handler ahead of its first use
            function_zygote_for(spec)
            continue
        try:
            send_request(function_zygote_for(spec), {}, [fd])
        except OSError:  # that function zygote died: start another one
            functions.pop(spec["name"]).close()
            with contextlib.suppress(OSError):
                send_request(function_zygote_for(spec), {}, [fd])
        os.close(fd)


if __name__ == "__main__":
    main(int(sys.argv[1]))
