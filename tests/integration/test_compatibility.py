"""A migrating Dispatch client's view, through the local stack: what Vonage's own clients, specs
and snippets expect (400 for validation, the callback error shape, WhatsApp video, `read` on SMS,
trailing slashes, late signed statuses, case-insensitive schemes, numbers with `+`, the message
route, final statuses), and hostile input that must never be a 5xx. Bearer JWTs without `exp` are
in test_jwt_auth.py."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid

import jwt
import pytest
import requests

from dispatch.integrations.signatures import sign_webhook
from local_stack.demo import text_step
from local_stack.receiver import CallbackReceiver
from tests.integration.helpers import (
    messages_sent_for,
    messenger_then_sms,
    recipient,
    start_workflow,
    wait_for_end,
    wait_until,
)

PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="module")
def account(stack) -> requests.Session:
    """An account of its own (its listings hold only what this module creates)."""
    api_key, api_secret = f"compat-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    stack.create_account(api_key, api_secret, account_id=f"compat-{uuid.uuid4()}")
    session = requests.Session()
    session.auth = (api_key, api_secret)
    return session


@pytest.fixture
def receiver():
    receiver = CallbackReceiver().start()
    yield receiver
    receiver.stop()


def assert_problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] and problem["title"] and problem["detail"] and problem["instance"]
    return problem


def post_status(stack, body: dict | bytes, authorization: str | None) -> requests.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return requests.post(f"{stack.api_url}/webhooks/message-status", data=raw, headers=headers, timeout=10)


def signed(stack, body: dict, *, age: int = 0) -> tuple[bytes, str]:
    """The body and an Authorization header signed with the Messages API's signature secret,
    as if signed `age` seconds ago."""
    raw = json.dumps(body).encode()
    issued_at = int(time.time()) - age
    return raw, sign_webhook(raw, secret=stack.signature_secret, api_key="sandbox-key", issued_at=issued_at)


def status_body(dispatch_uuid: str, step: int, message_uuid: str, status: str, **fields) -> dict:
    return {
        "message_uuid": message_uuid,
        "to": "447700900001",
        "from": "447700900000",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "channel": "messenger",
        "status": status,
        "client_ref": f"{dispatch_uuid}:{step}",
        **fields,
    }


def workflow_of(session, stack, dispatch_uuid: str) -> dict:
    return session.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}").json()


def first_message_uuid(session, stack, dispatch_uuid: str) -> str:
    return wait_until(lambda: workflow_of(session, stack, dispatch_uuid)["workflow"][0].get("message_uuid"))


# -- 1. 400 for an invalid create body ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v0.1/dispatch", "/v0.1/workflows"])
def test_1_an_invalid_create_body_is_a_400_listing_every_invalid_parameter(stack, api, path):
    body = messenger_then_sms("55")
    body["workflow"][0]["failover"]["expiry_time"] = 86401
    del body["workflow"][1]["to"]["number"]

    problem = assert_problem(api.post(f"{stack.api_url}{path}", json=body), 400)

    assert problem["type"].endswith("#invalid-params")
    assert {p["name"] for p in problem["invalid_parameters"]} == {
        "workflow[0].failover.expiry_time",
        "workflow[1].to.number",
    }


def test_1_an_idempotency_key_reused_with_another_body_stays_a_422(stack, api):
    key = str(uuid.uuid4())
    first = api.post(
        f"{stack.api_url}/v0.1/dispatch", json=messenger_then_sms("05"), headers={"Idempotency-Key": key}
    )
    other = api.post(
        f"{stack.api_url}/v0.1/dispatch", json=messenger_then_sms("05"), headers={"Idempotency-Key": key}
    )

    assert first.status_code == 202
    assert assert_problem(other, 422)["invalid_parameters"][0]["name"] == "Idempotency-Key"


# -- 2. the status callback's error; 8. never-sent steps in the final report ------------------------


def test_2_a_rejected_messages_callback_carries_an_integer_code_and_the_reason(stack, api, receiver):
    # Given a Messenger message the provider rejects (sandbox suffix 03), then an SMS
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("03", callback=receiver.url))

    # When its statuses come back
    def rejected_callback():
        bodies = [r["body"] for r in receiver.received if r["body"].get("status") == "rejected"]
        return [b for b in bodies if b["_links"]["workflow"]["dispatch_uuid"] == dispatch_uuid]

    (callback,) = wait_until(rejected_callback)

    # Then its error is Dispatch's shape: {"code": 1300, "reason": "..."}
    assert callback["error"] == {"code": 1300, "reason": "Not part of the provider network"}
    api.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")  # no need to wait for the SMS


def test_8_a_step_never_sent_is_in_the_final_report_with_its_outcome_and_no_uuid(stack, api, receiver):
    # Given a workflow completed by its first message (read): its SMS is never sent
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("55", expiry=10, callback=receiver.url))
    wait_for_end(api, stack, dispatch_uuid)

    # When its final report arrives
    def final_report():
        bodies = [r["body"] for r in receiver.received if r["body"].get("dispatch_uuid") == dispatch_uuid]
        return [b for b in bodies if "template" in b]

    (report,) = wait_until(final_report)

    # Then the sent message links to GET /v0.1/messages/{uuid}, which answers, and the SMS says why
    # it has no uuid
    sent, never_sent = report["_links"]["messages"]
    assert never_sent == {"channel": "sms", "outcome": "not_sent"}
    assert sent["outcome"] == "condition_met"
    shown = api.get(f"{stack.api_url}{sent['href']}")
    assert shown.status_code == 200
    assert shown.json()["message_uuid"] == sent["message_uuid"]


# -- 3. WhatsApp video ----------------------------------------------------------------------------


def test_3_a_whatsapp_video_is_sent_as_a_video(stack, api):
    number = recipient("55")
    video = {
        "from": {"type": "whatsapp", "number": "447700900000"},
        "to": {"type": "whatsapp", "number": number},
        "message": {"content": {"type": "video", "video": {"url": "https://example.com/clip.mp4"}}},
        "failover": {"expiry_time": 10, "condition_status": "read"},
    }
    body = {"template": "failover", "workflow": [video, text_step("sms", recipient("55"), "Hi")]}

    dispatch_uuid = start_workflow(api, stack, body)
    workflow = wait_for_end(api, stack, dispatch_uuid)

    (sent,) = messages_sent_for(stack, dispatch_uuid)
    assert (sent["channel"], sent["message_type"], sent["video"]) == (
        "whatsapp",
        "video",
        {"url": "https://example.com/clip.mp4"},
    )
    assert (workflow["status"], workflow["workflow"][0]["outcome"]) == ("completed", "condition_met")


# -- 4. `read` on SMS -----------------------------------------------------------------------------


def test_4_vonages_sms_to_sms_snippet_waiting_for_read_completes_on_delivered(stack, api):
    # Given Vonage's own SMS-to-SMS example: the first SMS waits for `read` (SMS has no read receipts)
    body = {
        "template": "failover",
        "workflow": [
            text_step("sms", recipient("01"), "Hi", {"expiry_time": 30, "condition_status": "read"}),
            text_step("sms", recipient("55"), "Hi again"),
        ],
    }
    # When it is accepted and the first SMS is delivered
    dispatch_uuid = start_workflow(api, stack, body)
    workflow = wait_for_end(api, stack, dispatch_uuid, timeout=15)

    # Then `delivered` met the condition at once: completed, long before the 30 s expiry
    first = workflow["workflow"][0]
    assert (workflow["status"], first["status"], first["outcome"]) == (
        "completed",
        "delivered",
        "condition_met",
    )
    assert first["condition_status"] == "read"
    assert len(messages_sent_for(stack, dispatch_uuid)) == 1


# -- 5. trailing slashes --------------------------------------------------------------------------


def test_5_every_route_answers_with_a_trailing_slash(stack, api):
    url = stack.api_url
    created = api.post(f"{url}/v0.1/dispatch/", json=messenger_then_sms("02", expiry=30))
    assert created.status_code == 202, created.text
    also_created = api.post(f"{url}/v0.1/workflows/", json=messenger_then_sms("05"))
    assert also_created.status_code == 202
    dispatch_uuid = created.json()["dispatch_uuid"]
    message_uuid = first_message_uuid(api, stack, dispatch_uuid)

    assert api.get(f"{url}/v0.1/workflows/{dispatch_uuid}/").json()["dispatch_uuid"] == dispatch_uuid
    assert api.get(f"{url}/v0.1/workflows/", params={"page_size": 1}).status_code == 200
    assert api.get(f"{url}/v0.1/messages/{message_uuid}/").json()["message_uuid"] == message_uuid
    assert requests.get(f"{url}/v0.1/openapi.json/", timeout=10).status_code == 200
    assert_problem(requests.post(f"{url}/webhooks/message-status/", data=b"{}", timeout=10), 401)
    assert api.delete(f"{url}/v0.1/workflows/{dispatch_uuid}/").json()["status"] == "cancelled"


# -- 6. late signed statuses ----------------------------------------------------------------------


def test_6_a_validly_signed_status_a_day_old_is_recorded_and_forgeries_are_refused(stack, api):
    # Given a message sent and waiting for `read` (sandbox suffix 02: only `submitted` comes back)
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("02", expiry=30))
    message_uuid = first_message_uuid(api, stack, dispatch_uuid)
    wait_until(lambda: workflow_of(api, stack, dispatch_uuid)["workflow"][0].get("status") == "submitted")
    body = status_body(dispatch_uuid, 0, message_uuid, "delivered")

    # When the provider retries a `delivered` with its original signature, 23 hours later
    raw, authorization = signed(stack, body, age=23 * 3600)
    forged = sign_webhook(raw, secret="not-the-secret-" + "x" * 32, api_key="k")
    tampered = raw.replace(b'"delivered"', b'"read"')
    too_old = signed(stack, body, age=26 * 3600)[1]

    # Then forged, tampered, unsigned and too old ones are refused, and the genuine one is recorded
    assert_problem(post_status(stack, raw, forged), 401)
    assert_problem(post_status(stack, tampered, authorization), 401)
    assert_problem(post_status(stack, raw, None), 401)
    assert_problem(post_status(stack, raw, too_old), 401)
    assert workflow_of(api, stack, dispatch_uuid)["workflow"][0]["status"] == "submitted"
    recorded = post_status(stack, raw, authorization)
    assert (recorded.status_code, recorded.json()) == (200, {"result": "recorded"})
    assert workflow_of(api, stack, dispatch_uuid)["workflow"][0]["status"] == "delivered"
    api.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")


@pytest.mark.parametrize("iat", ["abc", "nan", "1700000000"])
def test_6_a_signed_token_whose_iat_is_a_string_is_a_401(stack, iat):
    # (`"abc"` was a 500, and `"nan"` skipped the age check)
    raw = json.dumps(status_body(str(uuid.uuid4()), 0, str(uuid.uuid4()), "read")).encode()
    claims = {
        "api_key": "k",
        "iat": iat,
        "jti": str(uuid.uuid4()),
        "payload_hash": hashlib.sha256(raw).hexdigest(),
    }
    token = jwt.encode(claims, stack.signature_secret, algorithm="HS256")

    assert_problem(post_status(stack, raw, f"Bearer {token}"), 401)


# -- 7. case-insensitive schemes, numbers with + ----------------------------------------------------


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "Basic"])
def test_7_the_basic_scheme_is_case_insensitive(stack, scheme):
    credentials = base64.b64encode(f"{stack.settings.api_key}:{stack.settings.api_secret}".encode()).decode()
    response = requests.get(
        f"{stack.api_url}/v0.1/workflows",
        params={"page_size": 1},
        headers={"Authorization": f"{scheme} {credentials}"},
    )
    assert response.status_code == 200, response.text


def test_7_the_webhooks_bearer_scheme_is_case_insensitive(stack, api):
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("02", expiry=30))
    message_uuid = first_message_uuid(api, stack, dispatch_uuid)
    raw, authorization = signed(stack, status_body(dispatch_uuid, 0, message_uuid, "delivered"))

    response = post_status(stack, raw, authorization.replace("Bearer ", "bearer ", 1))

    assert (response.status_code, response.json()) == (200, {"result": "recorded"})
    api.delete(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}")


def test_7_numbers_with_a_leading_plus_are_accepted_and_sent_without_it(stack, api):
    number = recipient("55")
    body = {
        "template": "failover",
        "workflow": [
            {
                "from": {"type": "whatsapp", "number": "+447700900000"},
                "to": {"type": "whatsapp", "number": f"+{number}"},
                "message": {"content": {"type": "text", "text": "Hi"}},
            }
        ],
    }
    dispatch_uuid = start_workflow(api, stack, body)
    wait_for_end(api, stack, dispatch_uuid)

    (sent,) = messages_sent_for(stack, dispatch_uuid)
    assert (sent["to"], sent["from"]) == (number, "447700900000")


# -- 8. GET /v0.1/messages/{message_uuid} -----------------------------------------------------------


def test_8_a_message_shows_its_step_channel_status_usage_outcome_and_workflow(stack, api, account):
    # Given a workflow that failed over: Messenger rejected (03), then SMS delivered
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("03", expiry=2))
    workflow = wait_for_end(api, stack, dispatch_uuid)
    rejected, delivered = (step["message_uuid"] for step in workflow["workflow"])

    # When each message is read by its uuid
    first = api.get(f"{stack.api_url}/v0.1/messages/{rejected}")
    second = api.get(f"{stack.api_url}/v0.1/messages/{delivered}")

    # Then each shows its step, channel, status with its time, usage, outcome, and its workflow
    assert first.status_code == 200
    assert {k: first.json()[k] for k in ("step", "channel", "status", "outcome")} == {
        "step": 0,
        "channel": "messenger",
        "status": "rejected",
        "outcome": "rejected",
    }
    assert first.json()["error"] == {"code": 1300, "reason": "Not part of the provider network"}
    assert first.json()["_links"]["workflow"]["href"] == f"/v0.1/workflows/{dispatch_uuid}"
    body = second.json()
    assert (body["step"], body["channel"], body["status"], body["outcome"]) == (
        1,
        "sms",
        "delivered",
        "condition_met",
    )
    assert body["status_at"] and body["sent_at"] and body["usage"] == {"currency": "EUR", "price": "0.0333"}
    # And another account does not see it, nor anyone a made-up one
    assert_problem(account.get(f"{stack.api_url}/v0.1/messages/{rejected}"), 404)
    assert_problem(api.get(f"{stack.api_url}/v0.1/messages/{uuid.uuid4()}"), 404)


# -- 10. terminal statuses are final; no status for a step never sent ---------------------------------


def test_10_a_late_rejected_never_rewrites_a_read_message(stack, api):
    # Given a workflow completed by its first message being read
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("55", expiry=10))
    workflow = wait_for_end(api, stack, dispatch_uuid)
    message_uuid = workflow["workflow"][0]["message_uuid"]
    assert (workflow["workflow"][0]["status"], workflow["workflow"][0]["outcome"]) == (
        "read",
        "condition_met",
    )

    # When a validly signed `rejected` arrives for it afterwards
    error = {"type": "https://developer.vonage.com/api-errors/messages#1300", "title": 1300, "detail": "Late"}
    raw, authorization = signed(stack, status_body(dispatch_uuid, 0, message_uuid, "rejected", error=error))
    response = post_status(stack, raw, authorization)

    # Then it is ignored: the step keeps `read`
    assert (response.status_code, response.json()) == (200, {"result": "ignored"})
    step = workflow_of(api, stack, dispatch_uuid)["workflow"][0]
    assert (step["status"], step["outcome"]) == ("read", "condition_met")
    assert api.get(f"{stack.api_url}/v0.1/messages/{message_uuid}").json()["status"] == "read"


def test_10_a_status_for_a_step_never_sent_is_not_stored_against_it(stack, api):
    # Given a workflow completed by its first message: its second was never sent
    dispatch_uuid = start_workflow(api, stack, messenger_then_sms("55", expiry=10))
    wait_for_end(api, stack, dispatch_uuid)

    # When a validly signed status names that second step
    raw, authorization = signed(stack, status_body(dispatch_uuid, 1, str(uuid.uuid4()), "delivered"))
    response = post_status(stack, raw, authorization)

    # Then nothing is stored against it
    assert (response.status_code, response.json()) == (200, {"result": "unknown_message"})
    never_sent = workflow_of(api, stack, dispatch_uuid)["workflow"][1]
    assert "status" not in never_sent and "message_uuid" not in never_sent


# -- hostile input: a 4xx problem, never a 5xx -----------------------------------------------------


def whatsapp_body(content: dict) -> dict:
    return {
        "template": "failover",
        "workflow": [
            {
                "from": {"type": "whatsapp", "number": "447700900000"},
                "to": {"type": "whatsapp", "number": recipient("05")},
                "message": {"content": content},
            }
        ],
    }


def deep(levels: int) -> str:
    return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)


@pytest.mark.parametrize(
    ("content", "status"),
    [
        ({"type": "custom", "custom": {"blob": "x" * (1 << 20)}}, 413),
        ({"type": "template", "template": {"name": "n" * (1 << 20)}}, 413),
        ({"type": "template", "template": {"name": "n", "parameters": [{"default": "p"}] * 20_000}}, 413),
        ({"type": "template", "template": {"name": "n" * 513}}, 400),
        ({"type": "template", "template": {"name": "n", "parameters": [{"default": "p"}] * 101}}, 400),
        ({"type": "custom", "custom": {"blob": "x" * 70_000}}, 400),
    ],
    ids=[
        "custom 1 MiB",
        "template.name 1 MiB",
        "20000 parameters",
        "name 513",
        "101 parameters",
        "custom 70 kB",
    ],
)
def test_oversized_content_is_a_4xx_problem(stack, api, content, status):
    problem = assert_problem(api.post(f"{stack.api_url}/v0.1/dispatch", json=whatsapp_body(content)), status)
    if status == 413:
        assert problem["title"] == "Payload too large"


@pytest.mark.parametrize("levels", [256, 500, 999])
def test_custom_content_hundreds_of_levels_deep_is_a_400_problem(stack, api, levels):
    raw = json.dumps(whatsapp_body({"type": "custom", "custom": "DEEP"})).replace('"DEEP"', deep(levels))
    response = api.post(
        f"{stack.api_url}/v0.1/dispatch", data=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert "nest" in assert_problem(response, 400)["detail"]


def test_a_crafted_cursor_and_a_huge_page_size_are_400_problems(stack, api):
    # The caller's own index key, as the old cursors carried it (the local demo account's id)
    own_index_key = {
        "gsi1pk": "ACCOUNT#demo-account#WORKFLOWS",
        "gsi1sk": "2030-01-01T00:00:00.000Z#x",
        "pk": "WORKFLOW#x",
    }
    crafted = base64.urlsafe_b64encode(json.dumps(own_index_key).encode()).decode().rstrip("=")

    for params, name in (({"cursor": crafted}, "cursor"), ({"page_size": "9" * 5000}, "page_size")):
        problem = assert_problem(api.get(f"{stack.api_url}/v0.1/workflows", params=params), 400)
        assert [p["name"] for p in problem["invalid_parameters"]] == [name]


def test_a_cursor_is_opaque_signed_and_bound_to_its_filter(stack, api):
    for _ in range(2):
        start_workflow(api, stack, messenger_then_sms("05"))
    page = api.get(f"{stack.api_url}/v0.1/workflows", params={"page_size": 1}).json()
    href = page["_links"]["next"]["href"]
    cursor = href.split("cursor=")[1]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    # Opaque: no table key and no JSON in it (its signature bytes are random, so any byte may occur).
    assert b"ACCOUNT" not in decoded and b"WORKFLOW" not in decoded and b"dispatch_uuid" not in decoded
    with pytest.raises(ValueError):
        json.loads(decoded)

    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    other_filter = {"page_size": 1, "status": "error", "cursor": cursor}

    assert api.get(f"{stack.api_url}{href}").status_code == 200
    assert_problem(
        api.get(f"{stack.api_url}/v0.1/workflows", params={"page_size": 1, "cursor": tampered}), 400
    )
    assert_problem(api.get(f"{stack.api_url}/v0.1/workflows", params=other_filter), 400)


def test_a_filter_without_matches_has_no_next_link(stack, account):
    # Given more of the account's workflows than one page, none cancelled
    for _ in range(7):
        start_workflow(account, stack, messenger_then_sms("05"))

    # When its cancelled workflows are listed a page of one at a time
    page = account.get(f"{stack.api_url}/v0.1/workflows", params={"status": "cancelled", "page_size": 1})

    # Then the page is empty, and no `next` link leads to another empty page
    assert page.status_code == 200
    assert page.json()["workflows"] == []
    assert "next" not in page.json()["_links"]


@pytest.mark.parametrize("route", ["/v0.1/workflows/{}", "/v0.1/messages/{}"])
def test_a_404_echoes_at_most_64_characters_of_the_id(stack, api, route):
    made_up = "x" * 8000

    problem = assert_problem(api.get(f"{stack.api_url}{route.format(made_up)}"), 404)

    assert "x" * 64 in problem["detail"] and "x" * 65 not in problem["detail"]
    assert len(problem["detail"]) < 120
