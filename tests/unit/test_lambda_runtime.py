"""The local stack's Lambda runtime: execution environments per function, as worker processes.
The functions here are small handlers written to a temporary directory."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from local_stack.lambda_runtime import FunctionSpec, LambdaRuntime

HANDLERS = """
import os
import pathlib
import time


def environment(event, context):
    return {
        "value": os.environ.get("VALUE"),
        "pid": os.getpid(),
        "function_name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }


def wait_for_release(event, context):
    pathlib.Path(event["started"]).write_text(str(os.getpid()))
    while not pathlib.Path(event["release"]).exists():
        time.sleep(0.01)
    return {"pid": os.getpid()}


def fail(event, context):
    raise ValueError("refused")


def crash(event, context):
    os._exit(3)


def sleep(event, context):
    time.sleep(event["seconds"])
    return "slept"
"""


def spec(code: Path, name: str, handler: str, *, value: str = "", timeout: int = 30) -> FunctionSpec:
    return FunctionSpec(
        name=name,
        logical_id=name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler=handler,
        paths=(str(code),),
        environment={"VALUE": value},
        memory=128,
        timeout=timeout,
    )


def new_runtime(
    code: Path, concurrency: int = 2, concurrency_by_function: dict[str, int] | None = None
) -> LambdaRuntime:
    runtime = LambdaRuntime(concurrency=concurrency, concurrency_by_function=concurrency_by_function)
    for function in (
        spec(code, "a", "app.environment", value="only a"),
        spec(code, "b", "app.environment", value="only b"),
        spec(code, "blocking", "app.wait_for_release"),
        spec(code, "other", "app.wait_for_release"),
        spec(code, "failing", "app.fail"),
        spec(code, "crashing", "app.crash"),
        spec(code, "missing", "missing.handler"),
        spec(code, "slow", "app.sleep", timeout=1),
    ):
        runtime.register(function)
    runtime.start(dict(os.environ))
    return runtime


@pytest.fixture(scope="module")
def code(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("function")
    (directory / "app.py").write_text(HANDLERS)
    return directory


@pytest.fixture(scope="module")
def runtime(code):
    runtime = new_runtime(code)
    yield runtime
    runtime.stop()


def invoke(runtime: LambdaRuntime, function: str, event: dict | None = None) -> tuple[object, bool]:
    payload, failed = runtime.invoke(function, json.dumps(event or {}))
    return json.loads(payload), failed


def wait_for(path: Path, timeout: float = 60) -> str:
    """The file's content, once it has some (it is created, then written)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and (content := path.read_text())):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)
    return content


def test_each_function_has_its_own_environment_and_context(runtime):
    a, failed_a = invoke(runtime, "a")
    b, failed_b = invoke(runtime, "b")

    assert not failed_a and not failed_b
    assert (a["value"], b["value"]) == ("only a", "only b")
    assert (a["function_name"], b["function_name"]) == ("a", "b")
    assert a["pid"] != b["pid"] != os.getpid()
    assert 0 < a["remaining_ms"] <= 30_000


def test_an_environment_is_reused(runtime):
    first, _ = invoke(runtime, "a")
    second, _ = invoke(runtime, "a")
    assert first["pid"] == second["pid"]


def test_a_function_never_waits_for_another_ones_invocation(runtime, tmp_path):
    # Given an invocation of one function that does not finish until released
    started, release = tmp_path / "started", tmp_path / "release"
    blocked = threading.Thread(
        target=invoke, args=(runtime, "other", {"started": str(started), "release": str(release)})
    )
    blocked.start()
    wait_for(started)

    # When another function is invoked meanwhile, then it answers
    answer, failed = invoke(runtime, "a")
    assert not failed and answer["value"] == "only a"
    assert blocked.is_alive()

    release.touch()
    blocked.join()


def test_one_invocation_at_a_time_per_environment_and_at_most_the_concurrency(runtime, tmp_path):
    # Given as many blocked invocations as the function's concurrency (2)
    release = tmp_path / "release"
    events = [{"started": str(tmp_path / f"started-{i}"), "release": str(release)} for i in range(3)]
    results: list = [None] * 3

    def call(i: int) -> None:
        results[i] = invoke(runtime, "blocking", events[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for thread in threads[:2]:
        thread.start()
    pids = {wait_for(Path(events[i]["started"])) for i in range(2)}
    assert len(pids) == 2  # two environments, one invocation each

    # When a third invocation comes, it waits for a free environment instead of starting one
    threads[2].start()
    assert not Path(events[2]["started"]).exists()
    release.touch()
    for thread in threads:
        thread.join()
    assert {str(result[0]["pid"]) for result in results} == pids
    assert all(not result[1] for result in results)


def test_a_function_with_its_own_concurrency_gets_that_many_environments(code, tmp_path):
    # Given a runtime of 1 environment per function, except "other" (the status webhook's case)
    runtime = new_runtime(code, concurrency=1, concurrency_by_function={"other": 3})
    release = tmp_path / "release"
    events = [{"started": str(tmp_path / f"started-{i}"), "release": str(release)} for i in range(3)]
    try:
        # When 3 invocations of "other" and 2 of "blocking" run at once
        threads = [
            threading.Thread(target=invoke, args=(runtime, function, event))
            for function, event in [("other", e) for e in events]
            + [
                ("blocking", {"started": str(tmp_path / f"blocking-{i}"), "release": str(release)})
                for i in range(2)
            ]
        ]
        for thread in threads:
            thread.start()
        # Then "other" runs all 3 in environments of their own, "blocking" only 1
        assert len({wait_for(Path(event["started"])) for event in events}) == 3
        blocking = [tmp_path / f"blocking-{i}" for i in range(2)]
        deadline = time.monotonic() + 60
        while not any(path.exists() for path in blocking):
            assert time.monotonic() < deadline, "no invocation of 'blocking' started"
            time.sleep(0.01)
        time.sleep(0.2)  # time enough for a second environment to start, were there one
        assert sum(path.exists() for path in blocking) == 1
        release.touch()
        for thread in threads:
            thread.join()
    finally:
        release.touch()
        runtime.stop()


def test_an_exception_is_a_function_error(runtime):
    payload, failed = invoke(runtime, "failing")
    assert failed
    assert (payload["errorType"], payload["errorMessage"]) == ("ValueError", "refused")


def test_a_handler_that_cannot_be_imported_fails_every_invocation(runtime):
    for _ in range(2):
        payload, failed = invoke(runtime, "missing")
        assert failed
        assert payload["errorType"] == "Runtime.ImportModuleError"


def test_a_crashed_environment_is_replaced(runtime):
    payload, failed = invoke(runtime, "crashing")
    assert failed and payload["errorType"] == "Runtime.ExitError"
    payload, failed = invoke(runtime, "crashing")
    assert failed and payload["errorType"] == "Runtime.ExitError"  # a new environment, crashed again


def test_an_invocation_over_its_timeout_is_stopped(runtime):
    payload, failed = invoke(runtime, "slow", {"seconds": 60})
    assert failed and payload["errorType"] == "Sandbox.Timedout"
    payload, failed = invoke(runtime, "slow", {"seconds": 0})
    assert not failed and payload == "slept"


def test_stop_leaves_no_process_behind(code):
    runtime = new_runtime(code)
    invoke(runtime, "a")
    invoke(runtime, "b")
    pids = runtime.pids
    assert len(pids) == 3  # the zygote and two environments (function zygotes are not listed)

    runtime.stop()

    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in pids):
        assert time.monotonic() < deadline, "processes left after stop"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
