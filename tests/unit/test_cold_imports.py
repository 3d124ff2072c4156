"""What each function imports at its cold start (issue 10, docs/performance.md): its handler
imported in a fresh interpreter with the environment template.yaml gives it, as Lambda does.

pydantic is the largest import a function can make (about a third of a bare boto3 function's cold
start, before its first model is built). Only the function that serves the OpenAPI document,
generated from the models, loads it. Every other function reads and writes JSON in plain Python,
held to the same models by tests/unit/test_response_contracts.py,
tests/unit/test_status_webhook_schema.py and tests/unit/test_create_body_schema.py.

No function imports requests at its cold start either: sends POST with urllib3 (which botocore
has loaded), and the delivery function loads requests with its first callback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_settings import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
NEEDS_PYDANTIC = {"openapi"}
WATCHED = (
    "pydantic",
    "pydantic_core",
    "requests",
    "cryptography",
    "jwt",
    "aws_lambda_powertools.event_handler",
)

CODE = f"""
import json, sys
import app
print(json.dumps(sorted(w for w in {WATCHED!r} if any(m == w or m.startswith(w + ".") for m in sys.modules))))
"""


def imported_by(function: str) -> set[str]:
    directory = ROOT / "functions" / function
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "POWERTOOLS_"))},
        **ENVIRONMENT[function],
        "PYTHONPATH": os.pathsep.join([str(directory), str(ROOT / "layers" / "dispatch")]),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    result = subprocess.run(
        [sys.executable, "-c", CODE], env=env, cwd=directory, capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("function", sorted(ENVIRONMENT))
def test_each_function_imports_only_what_its_path_needs(function: str) -> None:
    expected = {"pydantic", "pydantic_core"} if function in NEEDS_PYDANTIC else set()
    assert imported_by(function) == expected
