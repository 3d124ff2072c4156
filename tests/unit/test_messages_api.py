"""The Messages API v1 client and its bounded, duplicate-safe retry (dispatch.integrations.messages_api).

Each test talks HTTP to a tiny provider on 127.0.0.1 that answers a scripted sequence of replies.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3

from dispatch.integrations.messages_api import MessagesApiClient, SendResult

API_KEY, API_SECRET = "api-key", "api-secret"
MESSAGE_UUID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
RECIPIENT = "447700900001"
BODY = {
    "channel": "sms",
    "message_type": "text",
    "to": RECIPIENT,
    "from": "447700900000",
    "text": "Hello by SMS",
    "client_ref": "5b3f8a52:1",
    "webhook_version": "v1",
}
ACCEPTED = (202, {"message_uuid": MESSAGE_UUID})
INVALID = (
    422,
    {
        "type": "https://developer.vonage.com/api-errors/messages#1150",
        "title": "Invalid params",
        "detail": f"The value of parameter `to` ({RECIPIENT}) is not a valid number",
        "instance": "bf0ca0bf-927b-3b52-e5b5-5f5a8a4e0c79",
        "invalid_parameters": [{"name": "to", "reason": f"{RECIPIENT} is invalid"}],
    },
)
THROTTLED = (429, {"type": "https://developer.vonage.com/api-errors#throttled", "title": "Rate Limit Hit"})
FAILING = (500, {"type": "https://developer.vonage.com/api-errors#internal", "title": "Internal Error"})
HANG = "hang"  # read the request, then never answer (until the test ends)
DROP = "drop"  # read the request, then close the connection without answering


class ScriptedProvider:
    """Answers each POST with the next scripted reply and remembers every request it read."""

    def __init__(self, replies: tuple) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                provider.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                reply = provider.replies.pop(0) if provider.replies else (599, {"title": "script ended"})
                if reply == HANG:
                    provider.release.wait(10)
                    return
                if reply == DROP:
                    self.close_connection = True
                    return
                status, payload = reply
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[Callable[..., ScriptedProvider]]:
    started: list[ScriptedProvider] = []

    def start(*replies) -> ScriptedProvider:
        started.append(ScriptedProvider(replies))
        return started[-1]

    yield start
    for scripted in started:
        scripted.stop()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is bound but not listening: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


class CountingPool(urllib3.PoolManager):
    def __init__(self) -> None:
        super().__init__()
        self.posts = 0

    def urlopen(self, method, url, *args, **kwargs):
        self.posts += 1
        return super().urlopen(method, url, *args, **kwargs)


class Sleeps(list):
    """Records the backoff delays instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(base_url: str, **options) -> tuple[MessagesApiClient, CountingPool, Sleeps]:
    pool, sleeps = CountingPool(), Sleeps()
    options.setdefault("timeout", (1, 3))
    messages = MessagesApiClient(base_url, API_KEY, API_SECRET, pool=pool, sleep=sleeps, **options)
    return messages, pool, sleeps


# -- accepted ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 202])
def test_an_accepted_send_returns_the_message_uuid(provider, status: int) -> None:
    # Given a provider that accepts the message
    scripted = provider((status, {"message_uuid": MESSAGE_UUID}))
    messages, _, sleeps = client(scripted.base_url)
    # When the client sends it
    result = messages.send(BODY)
    # Then it is accepted once, with the provider's message_uuid, and no error or doubt
    assert result == SendResult(accepted=True, message_uuid=MESSAGE_UUID)
    assert (result.unknown, result.error) == (False, {})
    assert len(scripted.requests) == 1
    assert sleeps == []


def test_the_send_posts_the_json_body_to_v1_messages_with_basic_auth(provider) -> None:
    scripted = provider(ACCEPTED)
    messages, _, _ = client(scripted.base_url + "/")  # a trailing slash is tolerated

    messages.send(BODY)

    [request] = scripted.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"api-key:api-secret").decode()
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == BODY


# -- refused at once ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_client_error_is_final_and_not_retried(provider, status: int) -> None:
    scripted = provider((status, INVALID[1]), ACCEPTED)
    messages, session, sleeps = client(scripted.base_url)

    result = messages.send(BODY)

    assert result.accepted is False
    assert result.unknown is False
    assert result.message_uuid is None
    assert result.error["http_status"] == status
    assert (session.posts, len(scripted.requests), sleeps) == (1, 1, [])


def test_a_refusal_keeps_the_problem_kind_but_not_its_free_text(provider) -> None:
    """The detail (and reasons) may quote the recipient: only type/title/instance and names are kept."""
    scripted = provider(INVALID)
    result = client(scripted.base_url)[0].send(BODY)

    assert result.error == {
        "http_status": 422,
        "type": INVALID[1]["type"],
        "title": "Invalid params",
        "instance": INVALID[1]["instance"],
        "invalid_parameters": ["to"],
    }
    assert "detail" not in result.error
    assert RECIPIENT not in json.dumps(result.error)


@pytest.mark.parametrize("payload", [b"<html>Bad Gateway</html>", b"[1, 2]", b""])
def test_an_error_without_a_problem_body_still_reports_its_http_status(provider, payload: bytes) -> None:
    scripted = provider((400, payload))
    result = client(scripted.base_url)[0].send(BODY)
    assert result == SendResult(accepted=False, error={"http_status": 400})


# -- retried -----------------------------------------------------------------------------------


@pytest.mark.parametrize("first", [THROTTLED, FAILING, (502, b""), (503, b""), (504, b"")])
def test_a_throttled_or_failing_attempt_is_retried_after_a_backoff(provider, first) -> None:
    # Given a provider that answers 429/5xx once, then accepts
    scripted = provider(first, ACCEPTED)
    messages, _, sleeps = client(scripted.base_url, backoff_seconds=0.5)
    # When the client sends
    result = messages.send(BODY)
    # Then the second attempt is accepted, after one backoff
    assert result == SendResult(accepted=True, message_uuid=MESSAGE_UUID)
    assert len(scripted.requests) == 2
    assert sleeps == [0.5]
    assert json.loads(scripted.requests[1]["body"]) == BODY


@pytest.mark.parametrize("max_attempts", [1, 3, 4])
def test_a_provider_that_keeps_failing_is_given_up_on_after_max_attempts(provider, max_attempts: int) -> None:
    # Given a provider that answers 500 to every attempt
    scripted = provider(*[FAILING] * (max_attempts + 1))
    messages, session, sleeps = client(scripted.base_url, max_attempts=max_attempts, backoff_seconds=0.5)
    # When the client sends
    result = messages.send(BODY)
    # Then it tried exactly max_attempts times, backing off exponentially between attempts
    assert (session.posts, len(scripted.requests)) == (max_attempts, max_attempts)
    assert sleeps == [0.5 * 2**n for n in range(max_attempts - 1)]
    # And reports a refusal (not an unknown outcome): nothing went out
    assert result.accepted is False
    assert result.unknown is False
    assert result.error == {"http_status": 500, "type": FAILING[1]["type"], "title": "Internal Error"}


def test_a_refused_connection_is_retried_then_reported_as_not_accepted(closed_port: int) -> None:
    # Given nothing listening on the provider's port
    messages, session, sleeps = client(f"http://127.0.0.1:{closed_port}", max_attempts=3)
    # When the client sends
    result = messages.send(BODY)
    # Then every attempt was made (the request never reached a provider, so retrying is safe)
    assert session.posts == 3
    assert len(sleeps) == 2
    # And the send is refused, never "unknown": it certainly did not go out
    assert result.accepted is False
    assert result.unknown is False
    assert result.error["title"] == "Connection failed"


# -- unknown outcome: never retried ------------------------------------------------------------


def test_no_answer_within_the_read_timeout_is_an_unknown_outcome_and_not_retried(provider) -> None:
    # Given a provider that reads the request and never answers
    scripted = provider(HANG, ACCEPTED)
    messages, session, sleeps = client(scripted.base_url, timeout=(1, 0.3))
    # When the client sends
    result = messages.send(BODY)
    # Then it does not retry (the message may have gone out) and says the outcome is unknown
    assert result.unknown is True
    assert result.accepted is False
    assert result.message_uuid is None
    assert (session.posts, len(scripted.requests), sleeps) == (1, 1, [])


def test_a_connection_dropped_after_the_request_is_an_unknown_outcome_and_not_retried(provider) -> None:
    scripted = provider(DROP, ACCEPTED)
    messages, session, sleeps = client(scripted.base_url)

    result = messages.send(BODY)

    assert result.unknown is True
    assert result.accepted is False
    assert (session.posts, len(scripted.requests), sleeps) == (1, 1, [])


def test_a_failed_tls_handshake_never_sent_the_request_and_is_retried(provider) -> None:
    # Given a provider that does not speak TLS where the client expects it
    scripted = provider(ACCEPTED)
    messages, pool, sleeps = client(scripted.base_url.replace("http://", "https://"), max_attempts=2)
    # When the client sends
    result = messages.send(BODY)
    # Then no request reached the provider, each attempt was made, and the send is refused for sure
    assert scripted.requests == []
    assert (pool.posts, len(sleeps)) == (2, 1)
    assert (result.accepted, result.unknown, result.error["title"]) == (False, False, "Connection failed")


def test_a_redirect_is_not_followed(provider) -> None:
    # A 3xx is the provider's final answer: following it could send the message twice.
    scripted = provider((307, b""), ACCEPTED)
    result = client(scripted.base_url)[0].send(BODY)
    assert result == SendResult(accepted=False, error={"http_status": 307})
    assert len(scripted.requests) == 1
