"""The local sandbox Messages API v1: auth, validation, the recipient table and signed status webhooks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests

from dispatch.integrations.signatures import verify_webhook
from local_stack.sandbox import SandboxMessagesApi

API_KEY, API_SECRET = "key-1", "secret-1"
SIGNATURE_SECRET = "signature-secret-1-long-enough-for-hs256"
DELAY = 0.02


class Receiver:
    """A tiny status-webhook receiver recording every request; `answers` are popped before answering 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    code = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "authorization": self.headers.get("Authorization"),
                            "raw": raw,
                            "body": json.loads(raw),
                            "answered": code,
                        }
                    )
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/status"
        poll = {"poll_interval": 0.05}  # keeps shutdown() quick
        threading.Thread(target=self.server.serve_forever, kwargs=poll, daemon=True).start()

    def statuses(self, client_ref: str, *, answered: int | None = 200) -> list[str]:
        with self.lock:
            return [
                r["body"]["status"]
                for r in self.requests
                if r["body"].get("client_ref") == client_ref and answered in (None, r["answered"])
            ]

    def bodies(self, client_ref: str) -> list[dict]:
        with self.lock:
            return [r["body"] for r in self.requests if r["body"].get("client_ref") == client_ref]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[SandboxMessagesApi]:
    sandbox = SandboxMessagesApi(
        api_key=API_KEY,
        api_secret=API_SECRET,
        signature_secret=SIGNATURE_SECRET,
        status_delay=DELAY,
        default_status_url=None,
    )
    sandbox.start()
    yield sandbox
    sandbox.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.01)


def settle() -> None:
    """Leave time for any unexpected extra status to show up (only for 'nothing more arrives' checks)."""
    time.sleep(DELAY * 6)


def message(to: str, receiver: Receiver, *, channel: str = "sms", client_ref: str | None = None) -> dict:
    return {
        "channel": channel,
        "message_type": "text",
        "to": to,
        "from": "447700900000",
        "text": "hello",
        "client_ref": client_ref or f"ref-{to}-{channel}",
        "webhook_url": receiver.url,
    }


def send(sandbox: SandboxMessagesApi, body: dict | bytes, *, auth=(API_KEY, API_SECRET), headers=None):
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    return requests.post(f"{sandbox.url}/v1/messages", auth=auth, headers=headers, timeout=5, **kwargs)


def test_wrong_or_missing_credentials_get_401(sandbox: SandboxMessagesApi, receiver: Receiver) -> None:
    # Given a valid message
    body = message("447700900100", receiver)
    # When it is sent without credentials, with a wrong secret, or with a bearer that is not a JWT
    answers = [
        send(sandbox, body, auth=None),
        send(sandbox, body, auth=(API_KEY, "wrong")),
        send(sandbox, body, auth=None, headers={"Authorization": "Bearer not-a-jwt"}),
    ]
    # Then each is a 401 problem and nothing is sent
    for answer in answers:
        assert answer.status_code == 401
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert set(answer.json()) == {"type", "title", "detail", "instance"}
    assert sandbox.sent == []
    assert [a["http_status"] for a in sandbox.attempts] == [401, 401, 401]


def test_a_well_formed_bearer_jwt_is_accepted(sandbox: SandboxMessagesApi, receiver: Receiver) -> None:
    # Given an application JWT the sandbox cannot verify (it does not know the public key)
    token = jwt.encode(
        {"application_id": "app-1", "iat": int(time.time()), "jti": "j1"}, "k" * 32, algorithm="HS256"
    )
    # When a message is sent with it
    answer = send(
        sandbox, message("447700900100", receiver), auth=None, headers={"Authorization": f"Bearer {token}"}
    )
    # Then it is accepted
    assert answer.status_code == 202
    assert answer.json()["message_uuid"]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"{not json", {"body"}),
        (b"[1, 2]", {"body"}),
        ({"channel": "sms"}, {"message_type", "to", "from"}),
        ({"channel": "fax", "message_type": "text", "to": "447700900100", "from": "me"}, {"channel"}),
        ({"channel": "sms", "message_type": "text", "to": {"number": "447700900100"}, "from": "me"}, {"to"}),
    ],
)
def test_bad_bodies_get_422_naming_the_parameters(sandbox: SandboxMessagesApi, body, names) -> None:
    # Given a malformed body / When it is sent
    answer = send(sandbox, body)
    # Then it is refused with a 422 problem naming the offending parameters
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert {p["name"] for p in answer.json()["invalid_parameters"]} == names
    assert sandbox.sent == []


@pytest.mark.parametrize(
    ("to", "channel", "expected"),
    [
        ("447700900100", "sms", ["submitted", "delivered"]),
        ("447700900100", "whatsapp", ["submitted", "delivered", "read"]),
        ("447700900101", "whatsapp", ["submitted", "delivered"]),
        ("447700900102", "whatsapp", ["submitted"]),
        ("447700900103", "sms", ["submitted", "rejected"]),
        ("447700900104", "viber_service", ["submitted", "undeliverable"]),
        ("447700900107", "messenger", ["read", "delivered", "read", "submitted"]),
        ("447700900107", "sms", ["delivered", "delivered", "submitted"]),
    ],
)
def test_accepted_recipients_get_their_status_sequence(
    sandbox: SandboxMessagesApi, receiver: Receiver, to: str, channel: str, expected: list[str]
) -> None:
    # Given a recipient whose suffix selects a behaviour
    body = message(to, receiver, channel=channel)
    # When the message is sent
    answer = send(sandbox, body)
    # Then it is accepted and exactly the expected statuses arrive, in that order
    assert answer.status_code == 202
    wait_for(lambda: len(receiver.statuses(body["client_ref"])) >= len(expected))
    settle()
    assert receiver.statuses(body["client_ref"]) == expected
    assert sandbox.sent == [body]
    assert {b["message_uuid"] for b in receiver.bodies(body["client_ref"])} == {answer.json()["message_uuid"]}


def test_status_bodies_are_messages_v1_and_signed(sandbox: SandboxMessagesApi, receiver: Receiver) -> None:
    # Given an sms to a recipient that will be rejected, with a client_ref
    body = message("447700900103", receiver, client_ref="wf-42:step-1")
    # When it is sent and its statuses arrive
    uuid = send(sandbox, body).json()["message_uuid"]
    wait_for(lambda: len(receiver.requests) >= 2)
    # Then every webhook carries a valid signature over its exact body
    for request in receiver.requests:
        claims = verify_webhook(request["authorization"], request["raw"], secret=SIGNATURE_SECRET)
        assert claims["api_key"] == API_KEY
    submitted, rejected = receiver.bodies("wf-42:step-1")
    # And the bodies echo the message's fields and client_ref
    for status in (submitted, rejected):
        assert status["message_uuid"] == uuid
        assert (status["to"], status["from"], status["channel"]) == ("447700900103", "447700900000", "sms")
        assert status["client_ref"] == "wf-42:step-1"
        assert status["timestamp"].endswith("Z")
    assert submitted["usage"] == {"currency": "EUR", "price": "0.0333"}
    assert set(rejected["error"]) == {"type", "title", "detail", "instance"}
    # And a signature made with another secret would not verify
    with pytest.raises(Exception, match="invalid token"):
        first = receiver.requests[0]
        verify_webhook(first["authorization"], first["raw"], secret="another-secret-also-32-bytes-long")


def test_suffix_05_is_refused_at_once_with_422(sandbox: SandboxMessagesApi, receiver: Receiver) -> None:
    # Given a recipient ending in 05 / When a message is sent to it
    answer = send(sandbox, message("447700900105", receiver))
    # Then it is refused with a problem naming `to`, and no status ever arrives
    assert answer.status_code == 422
    assert [p["name"] for p in answer.json()["invalid_parameters"]] == ["to"]
    settle()
    assert receiver.requests == [] and sandbox.sent == []


def test_suffix_06_is_throttled_once_then_accepted(sandbox: SandboxMessagesApi, receiver: Receiver) -> None:
    # Given a recipient ending in 06
    body = message("447700900106", receiver, channel="whatsapp")
    # When the message is sent twice (a retry after the 429)
    first, second = send(sandbox, body), send(sandbox, body)
    # Then the first attempt is a 429 problem and the retry behaves as any other recipient
    assert first.status_code == 429
    assert set(first.json()) == {"type", "title", "detail", "instance"}
    assert second.status_code == 202
    wait_for(lambda: len(receiver.statuses(body["client_ref"])) >= 3)
    assert receiver.statuses(body["client_ref"]) == ["submitted", "delivered", "read"]
    assert [a["http_status"] for a in sandbox.attempts] == [429, 202]


def test_suffix_08_always_fails_with_500(sandbox: SandboxMessagesApi, receiver: Receiver) -> None:
    # Given a recipient ending in 08 / When the message is sent three times
    answers = [send(sandbox, message("447700900108", receiver)) for _ in range(3)]
    # Then every attempt is a 500 problem
    assert [a.status_code for a in answers] == [500, 500, 500]
    assert all(a.headers["Content-Type"] == "application/problem+json" for a in answers)
    assert sandbox.sent == []


def test_webhook_is_retried_after_a_503(sandbox: SandboxMessagesApi, receiver: Receiver) -> None:
    # Given a receiver that answers the first webhook with 503
    receiver.answers = [503]
    body = message("447700900101", receiver)
    # When a message is sent
    send(sandbox, body)
    # Then the refused status is posted again and, in the end, both statuses are received
    # (Waiting for all three deliveries: the refused one and its retry, then `delivered`.)
    wait_for(lambda: len(sandbox.deliveries) >= 3 and len(receiver.statuses(body["client_ref"])) >= 2)
    assert receiver.statuses(body["client_ref"], answered=None) == ["submitted", "submitted", "delivered"]
    assert [(d["status"], d["http_status"]) for d in sandbox.deliveries] == [
        ("submitted", 503),
        ("submitted", 200),
        ("delivered", 200),
    ]
    assert {d["client_ref"] for d in sandbox.deliveries} == {body["client_ref"]}


def test_default_status_url_is_used_without_webhook_url(receiver: Receiver) -> None:
    # Given a sandbox with a default status URL and a message without webhook_url
    sandbox = SandboxMessagesApi(
        api_key=API_KEY,
        api_secret=API_SECRET,
        signature_secret=SIGNATURE_SECRET,
        status_delay=DELAY,
        default_status_url=receiver.url,
    )
    sandbox.start()
    try:
        body = message("447700900101", receiver)
        del body["webhook_url"]
        # When it is sent
        assert send(sandbox, body).status_code == 202
        # Then its statuses go to the default URL
        wait_for(lambda: len(receiver.statuses(body["client_ref"])) >= 2)
        assert {d["url"] for d in sandbox.deliveries} == {receiver.url}
    finally:
        sandbox.stop()


def test_an_unexpected_error_is_a_500_problem(
    sandbox: SandboxMessagesApi, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a sandbox whose validation blows up
    def explode(raw: bytes) -> dict:
        raise RuntimeError("boom")

    monkeypatch.setattr(sandbox, "_validate", explode)
    # When a message is sent
    answer = send(sandbox, message("447700900100", receiver))
    # Then the answer is a 500 problem and the sandbox keeps serving
    assert answer.status_code == 500
    assert answer.json()["title"] == "Internal error"
    monkeypatch.undo()
    assert send(sandbox, message("447700900101", receiver)).status_code == 202
