"""local_stack/moto_speedups.py changes how often moto does its work, never what it answers: the
same DynamoDB requests (updates, conditions, queries, and the errors moto's validation raises)
get the same answers with and without the patches. Each side runs in a fresh process (the
patches are process-wide)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = Path(__file__).with_name("dynamodb_scenario.py")


def answers(mode: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(SCENARIO), mode],
        # Not the integration tests' local stack (same session), which sets AWS_ENDPOINT_URL.
        env={
            **{name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")},
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.splitlines()


def test_dynamodb_answers_the_same_with_and_without_the_speedups():
    plain, patched = answers("plain"), answers("patched")
    assert len(plain) == 20  # every request answered, errors included
    assert patched == plain
    # The scenario does reach moto's validation errors and its refused conditions.
    assert sum('"ValidationException"' in line for line in plain) >= 5
    assert sum('"ConditionalCheckFailedException"' in line for line in plain) >= 2
