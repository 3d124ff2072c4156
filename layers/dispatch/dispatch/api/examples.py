"""The canonical create body, one file shared by everything that shows a workflow: the OpenAPI
document's example, the sample event (events/create_workflow.json, checked by a test), the local
stack's demo, the tests and the docs (example_workflow.json, next to this module).

A Facebook Messenger message that must be read within 15 s (Dispatch's minimum), failing over to
an SMS. The recipients are the local stack's sandbox numbers: the Messenger one (`...01`) never
reads and the SMS one (`...23`) gets it, so run against the local stack it shows a failover."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

EXAMPLE_WORKFLOW_PATH = Path(__file__).with_name("example_workflow.json")


@functools.cache
def _example() -> dict[str, Any]:
    example: dict[str, Any] = json.loads(EXAMPLE_WORKFLOW_PATH.read_text())
    return example


def example_workflow() -> dict[str, Any]:
    """A fresh copy of the canonical create body (the caller may change it)."""
    return copy.deepcopy(_example())
