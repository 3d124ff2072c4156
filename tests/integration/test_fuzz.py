"""Fuzzing the API through the local stack, from the OpenAPI document it serves (schemathesis).

Every operation of GET /v0.1/openapi.json gets generated requests, valid and invalid (bodies,
query parameters, headers, path parameters, unusual HTTP methods), and every answer must be one
the document declares: no 5xx, a documented status code and content type, a body that matches its
schema, the documented response headers. The status webhook is fuzzed too: unsigned, it must
answer 401. The last tests walk one workflow through create, get, list and cancel, so that the 2xx
bodies (which random ids and bodies seldom reach) are checked against the document as well.

Not checked: that every body valid by the JSON Schema is accepted. The create body's cross-field
rules (per-channel addresses, `failover` on every step but the last) are not expressible in the
schema, so schema-valid bodies are often a documented 400.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch.api.openapi import OPENAPI_PATH
from local_stack.demo import text_step
from tests.integration.helpers import messages_sent_for, recipient, wait_until

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

# Per operation and generation phase (fuzzing); the coverage phase adds its boundary cases.
MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# What the fuzzer did ("METHOD /path" -> requests; status code -> answers), reported at the end.
cases_sent: Counter[str] = Counter()
statuses_answered: Counter[int] = Counter()
workflows_created: set[str] = set()


@pytest.fixture(scope="module")
def fuzz_account(stack) -> requests.Session:
    """An account of its own, so that nothing the fuzzer does shows in another test's listing."""
    api_key, api_secret = f"fuzz-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    stack.create_account(api_key, api_secret, account_id=f"fuzz-{uuid.uuid4()}")
    session = requests.Session()
    session.auth = (api_key, api_secret)
    return session


@pytest.fixture(scope="module")
def api_schema(stack, fuzz_account):
    api_key, api_secret = fuzz_account.auth
    config = SchemathesisConfig.from_dict(
        {
            "seed": 20250312,  # the same cases on every run, so a failure reproduces
            "generation": {
                "mode": "all",  # valid and invalid input
                "max-examples": MAX_EXAMPLES,
                # Valid credentials on every request: random ones would only ever get a 401.
                "with-security-parameters": False,
                # No example database: every run sends the same cases, whatever ran before.
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            # POST /v0.1/workflows is POST /v0.1/dispatch under another name (one handler): the
            # coverage phase's few hundred boundary cases run on one of them.
            "operations": [
                {"include-operation-id": "createWorkflow", "phases": {"coverage": {"enabled": False}}}
            ],
            "auth": {"basic": {"username": api_key, "password": api_secret}},
            "request-timeout": 10,
        }
    )
    return schemathesis.openapi.from_url(f"{stack.api_url}{OPENAPI_PATH}", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request):
    """schemathesis 4.32's from_fixture reads `node._nodeid`, which pytest 9.2 no longer has."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def without_side_effects(case) -> None:
    """A valid create body starts a real workflow: make it one that ends at once and calls nobody.

    Every recipient gets the sandbox suffix 05 (send refused at once; the same validity, as only
    the last two characters change), and a callback URL that might be accepted is dropped, so no
    send, status or callback outlives the request (later tests count the sandbox's messages).
    """
    body = case.body
    if not isinstance(body, dict):
        return
    callback = body.get("callback")
    if isinstance(callback, str) and callback.lower().startswith(("http://", "https://")):
        del body["callback"]
    steps = body.get("workflow")
    for step in steps if isinstance(steps, list) else []:
        to = step.get("to") if isinstance(step, dict) else None
        for key in ("number", "id") if isinstance(to, dict) else ():
            if isinstance(to.get(key), str) and len(to[key]) >= 2:
                to[key] = to[key][:-2] + "05"


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_one_the_document_declares(case):
    without_side_effects(case)
    cases_sent[case.operation.label] += 1
    response = case.call_and_validate(checks=CHECKS)
    statuses_answered[response.status_code] += 1
    if response.status_code == 202:
        workflows_created.add(response.json()["dispatch_uuid"])


def test_the_workflows_the_fuzzer_created_ended_at_once_without_sending(stack, fuzz_account):
    for dispatch_uuid in workflows_created:
        url = f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}"
        wait_until(lambda url=url: fuzz_account.get(url).json()["status"] == "error")
        assert messages_sent_for(stack, dispatch_uuid) == []


def test_the_fuzzer_reached_every_operation(api_schema, capsys):
    # schemathesis leaves out the route it loaded the document from (GET /v0.1/openapi.json).
    operations = {
        f"{method.upper()} {path}"
        for path, item in api_schema.raw_schema["paths"].items()
        for method in item
        if method != "parameters" and path != OPENAPI_PATH
    }

    assert set(cases_sent) == operations
    with capsys.disabled():
        per_operation = ", ".join(f"{label} {count}" for label, count in sorted(cases_sent.items()))
        print(
            f"\nfuzz: {sum(cases_sent.values())} cases, {len(operations)} operations ({per_operation});"
            f" answers by status {dict(sorted(statuses_answered.items()))}"
        )


# --- 2xx bodies of a real workflow -------------------------------------------------------------------


def assert_documented(api_schema, method: str, path: str, response: requests.Response) -> None:
    """The response is one the document declares for the operation (status, type, headers, body)."""
    api_schema[path][method].validate_response(response)


def test_a_workflow_ended_by_a_refused_send_is_shown_as_documented(stack, api_schema, fuzz_account):
    # Given a workflow whose every send is refused at once (suffix 05): it ends in error quickly
    body = {
        "template": "failover",
        "workflow": [
            text_step("messenger", recipient("05"), "Hi", {"expiry_time": 30, "condition_status": "read"}),
            text_step("sms", recipient("05"), "Hi by SMS"),
        ],
    }
    created = fuzz_account.post(
        f"{stack.api_url}/v0.1/workflows", json=body, headers={"Idempotency-Key": "k1"}
    )
    assert created.status_code == 202
    assert_documented(api_schema, "POST", "/v0.1/workflows", created)
    dispatch_uuid = created.json()["dispatch_uuid"]
    url = f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}"

    # When it is read, listed, replayed and cancelled too late
    ended = wait_until(lambda: (r := fuzz_account.get(url)).json()["status"] == "error" and r)
    listed = fuzz_account.get(f"{stack.api_url}/v0.1/workflows", params={"page_size": 1})
    replayed = fuzz_account.post(
        f"{stack.api_url}/v0.1/workflows", json=body, headers={"Idempotency-Key": "k1"}
    )
    cancelled = fuzz_account.delete(url)

    # Then every answer is the documented one, with the documented body
    assert_documented(api_schema, "GET", "/v0.1/workflows/{dispatch_uuid}", ended)
    assert [step["outcome"] for step in ended.json()["workflow"]] == ["send_failed", "send_failed"]
    assert ended.json()["workflow"][0]["send_error"]["http_status"] == 422
    assert_documented(api_schema, "GET", "/v0.1/workflows", listed)
    assert [w["dispatch_uuid"] for w in listed.json()["workflows"]] == [dispatch_uuid]
    assert_documented(api_schema, "POST", "/v0.1/workflows", replayed)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == created.json()
    assert cancelled.status_code == 409
    assert_documented(api_schema, "DELETE", "/v0.1/workflows/{dispatch_uuid}", cancelled)


def test_a_cancelled_workflow_is_shown_as_documented(stack, api_schema, fuzz_account):
    # Given a running workflow whose first message is never delivered (suffix 02)
    body = {
        "template": "failover",
        "workflow": [
            text_step("messenger", recipient("02"), "Hi", {"expiry_time": 30, "condition_status": "read"}),
            text_step("sms", recipient("02"), "Hi by SMS"),
        ],
    }
    dispatch_uuid = fuzz_account.post(f"{stack.api_url}/v0.1/dispatch", json=body).json()["dispatch_uuid"]
    url = f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}"
    # (its one status, `submitted`, is in before the cancel: nothing is left in flight after it)
    wait_until(
        lambda: (
            messages_sent_for(stack, dispatch_uuid)
            and fuzz_account.get(url).json()["workflow"][0].get("status")
        )
    )

    # When it is cancelled
    cancelled = fuzz_account.delete(url)

    # Then the answer is the documented cancelled workflow
    assert cancelled.status_code == 200
    assert_documented(api_schema, "DELETE", "/v0.1/workflows/{dispatch_uuid}", cancelled)
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["workflow"][0]["status"] == "submitted"

    # And its message, as GET /v0.1/messages/{message_uuid} shows it, is the documented one
    message_uuid = cancelled.json()["workflow"][0]["message_uuid"]
    message = fuzz_account.get(f"{stack.api_url}/v0.1/messages/{message_uuid}")
    assert message.status_code == 200
    assert_documented(api_schema, "GET", "/v0.1/messages/{message_uuid}", message)
    assert (message.json()["status"], message.json()["outcome"]) == ("submitted", "cancelled")


def test_a_page_with_a_next_link_and_the_page_it_leads_to_are_shown_as_documented(
    stack, api_schema, fuzz_account
):
    # (the fuzzer's account has workflows by now: at least the ones of the tests above)
    first = fuzz_account.get(f"{stack.api_url}/v0.1/workflows", params={"page_size": 1})
    second = fuzz_account.get(f"{stack.api_url}{first.json()['_links']['next']['href']}")

    assert_documented(api_schema, "GET", "/v0.1/workflows", first)
    assert_documented(api_schema, "GET", "/v0.1/workflows", second)
    assert second.status_code == 200
