"""A local stand-in for the Vonage Messages API v1, for the local stack and the tests.

It serves `POST /v1/messages` on loopback with the same auth (Basic key:secret or a Bearer JWT),
the same 202 / problem-body answers, and posts signed status webhooks to the message's
`webhook_url` (or a default status URL), spaced by `status_delay` seconds.

A message's fate depends on the last two characters of its `to`:

    suffix     behaviour
    any other  202; submitted, delivered, then read (read only on messenger/viber_service/whatsapp/rcs)
    01         202; submitted, delivered, never read
    02         202; submitted only
    03         202; submitted, then rejected
    04         202; submitted, then undeliverable
    05         refused at once: 422 problem body naming `to`
    06         first attempt for that recipient 429, later attempts behave as "any other"
    07         202; duplicated, out of order: read, delivered, read, submitted
               (delivered, delivered, submitted on sms/mms)
    08         every attempt 500

Webhooks that meet a 429/5xx answer or a connection failure are retried with a short doubling
backoff (at most 5 tries): an at-least-once delivery like Vonage's, scaled down for local use.

With `event_log` (a file path; `LOCAL_SANDBOX_LOG` in the local stack) every send attempt and
every status delivery is appended as one JSON line with its times, for the load benchmark:
{"event": "send", "t", "client_ref", "suffix", "http_status"} and {"event": "status",
"client_ref", "message_uuid", "status", "posted_at", "answered_at", "http_status", "tries"}.
No recipient or text is logged.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import requests

try:
    from dispatch.integrations.signatures import sign_webhook
except ImportError:  # run standalone from the repository: the layer is not on sys.path yet
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "dispatch"))
    from dispatch.integrations.signatures import sign_webhook

logger = logging.getLogger(__name__)

API_PATH = "/v1/messages"
ERRORS = "https://developer.vonage.com/api-errors"
CHANNELS = {"sms", "mms", "messenger", "viber_service", "whatsapp", "rcs"}
CHANNELS_WITH_READ = {"messenger", "viber_service", "whatsapp", "rcs"}
USAGE = {"currency": "EUR", "price": "0.0333"}
# The error of each failed status: (code, reason).
FAILURE_ERRORS = {
    "rejected": (1300, "Not part of the provider network"),
    "undeliverable": (1320, "The provider could not be reached"),
}
WEBHOOK_TIMEOUT = (3, 15)
WEBHOOK_TRIES = 5
WEBHOOK_BACKOFF = 0.2


class SendError(Exception):
    """A send attempt answered with a problem body."""

    def __init__(self, status: int, title: str, detail: str, anchor: str, invalid: list | None = None):
        super().__init__(detail)
        self.status = status
        self.body = {
            "type": f"{ERRORS}#{anchor}",
            "title": title,
            "detail": detail,
            "instance": str(uuid.uuid4()),
        }
        if invalid:
            self.body["invalid_parameters"] = invalid


def _invalid(invalid: list[dict[str, str]]) -> SendError:
    return SendError(
        422,
        "Invalid request parameters",
        "The request failed due to validation errors",
        "invalid-params",
        invalid,
    )


def status_sequence(suffix: str, channel: str) -> list[str]:
    """The statuses the sandbox posts, in order, for an accepted message."""
    has_read = channel in CHANNELS_WITH_READ
    if suffix == "01":
        return ["submitted", "delivered"]
    if suffix == "02":
        return ["submitted"]
    if suffix == "03":
        return ["submitted", "rejected"]
    if suffix == "04":
        return ["submitted", "undeliverable"]
    if suffix == "07" and has_read:  # duplicated and out of order
        return ["read", "delivered", "read", "submitted"]
    if suffix == "07":
        return ["delivered", "delivered", "submitted"]
    return ["submitted", "delivered", "read"] if has_read else ["submitted", "delivered"]


class SandboxMessagesApi:
    """The sandbox server. `sent`, `attempts` and `deliveries` record what happened, for tests."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str,
        api_secret: str,
        signature_secret: str,
        status_delay: float = 0.2,
        default_status_url: str | None = None,
        event_log: str | None = None,
    ):
        self.host, self.port = host, port
        self.api_key, self.api_secret, self.signature_secret = api_key, api_secret, signature_secret
        self.status_delay = status_delay
        self.default_status_url = default_status_url
        self.sent: list[dict] = []
        self.attempts: list[dict] = []
        self.deliveries: list[dict] = []
        self._lock = threading.Lock()
        self._throttled: set[str] = set()  # recipients ending in 06 that already got their 429
        self._gates: dict[str, threading.Event] = {}  # recipient -> statuses wait until it is set
        self._event_log_path = event_log
        self._event_log = None
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._stopping.clear()
        if self._event_log_path and self._event_log is None:
            self._event_log = open(self._event_log_path, "a", buffering=1)  # noqa: SIM115 (closed in stop)
        self._server = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._server.sandbox = self  # type: ignore[attr-defined]
        # A short poll interval keeps stop() quick (shutdown waits for the serve loop's next poll).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-api", daemon=True
        )
        self._thread.start()
        logger.info("sandbox Messages API listening on %s%s", self.url, API_PATH)

    def stop(self) -> None:
        self._stopping.set()  # status threads give up at their next wait
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            if self._event_log is not None:
                self._event_log.close()
                self._event_log = None

    def log_event(self, **event) -> None:
        """Append one event to the event log, if there is one (a line per event, flushed)."""
        if self._event_log_path is None:
            return
        line = json.dumps(event)
        with self._lock:
            if self._event_log is not None:
                self._event_log.write(line + "\n")

    # --- sending ------------------------------------------------------------------------------

    def handle_send(self, authorization: str | None, raw: bytes) -> tuple[int, dict]:
        """Answer one send attempt: (HTTP status, body). Raises SendError for problem answers."""
        self._authenticate(authorization)
        body = self._validate(raw)
        to = body["to"]
        suffix = to[-2:]
        if suffix == "05":
            raise _invalid([{"name": "to", "reason": "The recipient is not reachable (sandbox suffix 05)"}])
        if suffix == "08":
            raise SendError(
                500, "Internal error", "Sandbox recipient ending in 08 always fails", "internal-error"
            )
        if suffix == "06":
            with self._lock:
                first = to not in self._throttled
                self._throttled.add(to)
            if first:
                raise SendError(429, "Rate Limit Hit", "Please wait, then retry your request", "rate-limit")
            suffix = ""  # later attempts behave as "any other"
        message_uuid = str(uuid.uuid4())
        with self._lock:
            self.sent.append(body)
        url = body.get("webhook_url") or self.default_status_url
        if url:
            threading.Thread(
                target=self._post_statuses,
                args=(url, message_uuid, body, suffix),
                name=f"sandbox-status-{message_uuid[:8]}",
                daemon=True,
            ).start()
        return 202, {"message_uuid": message_uuid}

    def _authenticate(self, authorization: str | None) -> None:
        scheme, _, credentials = (authorization or "").partition(" ")
        credentials = credentials.strip()
        if scheme == "Basic":
            expected = f"{self.api_key}:{self.api_secret}"
            try:
                if base64.b64decode(credentials, validate=True).decode() == expected:
                    return
            except (binascii.Error, UnicodeDecodeError):
                pass
        elif scheme == "Bearer":
            try:  # the applications' public keys are unknown here: only the JWT's shape is checked
                jwt.decode(credentials, options={"verify_signature": False})
                return
            except jwt.PyJWTError:
                pass
        raise SendError(401, "Unauthorized", "You did not provide correct credentials.", "unauthorized")

    @staticmethod
    def _validate(raw: bytes) -> dict:
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise _invalid([{"name": "body", "reason": "The body is not valid JSON"}]) from None
        if not isinstance(body, dict):
            raise _invalid([{"name": "body", "reason": "The body must be a JSON object"}])
        invalid = [
            {"name": name, "reason": "Must be a non-empty string"}
            for name in ("channel", "message_type", "to", "from")
            if not isinstance(body.get(name), str) or not body[name]
        ]
        if isinstance(body.get("channel"), str) and body["channel"] and body["channel"] not in CHANNELS:
            invalid.append({"name": "channel", "reason": f"Must be one of {', '.join(sorted(CHANNELS))}"})
        client_ref = body.get("client_ref")
        if client_ref is not None and (not isinstance(client_ref, str) or len(client_ref) > 100):
            invalid.append({"name": "client_ref", "reason": "Must be a string of at most 100 characters"})
        if body.get("webhook_url") is not None and not isinstance(body["webhook_url"], str):
            invalid.append({"name": "webhook_url", "reason": "Must be a URL string"})
        if invalid:
            raise _invalid(invalid)
        return body

    # --- status webhooks ----------------------------------------------------------------------

    def hold_statuses(self, to: str) -> threading.Event:
        """For tests that need a status to come at a chosen moment: the statuses of messages to
        `to` are held until the returned event is set (then they follow at the usual pace)."""
        gate = threading.Event()
        with self._lock:
            self._gates[to] = gate
        return gate

    def _post_statuses(self, url: str, message_uuid: str, message: dict, suffix: str) -> None:
        gate = self._gates.get(message["to"])
        while gate is not None and not gate.wait(0.05):
            if self._stopping.is_set():
                return
        # One session per message: its statuses reuse one connection.
        with requests.Session() as session:
            try:
                for status in status_sequence(suffix, message["channel"]):
                    if self._stopping.wait(self.status_delay):
                        return
                    self._deliver(url, self._status_body(message_uuid, message, status), session)
            except Exception:
                logger.exception("sandbox status thread for %s failed", message_uuid)

    @staticmethod
    def _status_body(message_uuid: str, message: dict, status: str) -> dict:
        body = {
            "message_uuid": message_uuid,
            "to": message["to"],
            "from": message["from"],
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "channel": message["channel"],
            "status": status,
        }
        if message.get("client_ref") is not None:
            body["client_ref"] = message["client_ref"]
        if status in ("submitted", "delivered"):
            body["usage"] = dict(USAGE)
        if status in ("rejected", "undeliverable"):
            # As Messages v1 posts failures: the code ends the type URL and is the title, the
            # human reason is the detail.
            code, reason = FAILURE_ERRORS[status]
            body["error"] = {
                "type": f"{ERRORS}/messages#{code}",
                "title": code,
                "detail": reason,
                "instance": str(uuid.uuid4()),
            }
        return body

    def _deliver(self, url: str, body: dict, session: requests.Session) -> None:
        raw = json.dumps(body).encode()
        backoff = WEBHOOK_BACKOFF
        posted_at = time.time()
        for attempt in range(1, WEBHOOK_TRIES + 1):
            headers = {
                "Content-Type": "application/json",
                "Authorization": sign_webhook(raw, secret=self.signature_secret, api_key=self.api_key),
            }
            try:
                http_status: int | None = session.post(
                    url, data=raw, headers=headers, timeout=WEBHOOK_TIMEOUT
                ).status_code
            except requests.RequestException as error:
                logger.warning("sandbox webhook to %s failed: %s", url, error)
                http_status = None
            with self._lock:
                self.deliveries.append(
                    {
                        "url": url,
                        "status": body["status"],
                        "client_ref": body.get("client_ref"),
                        "message_uuid": body["message_uuid"],
                        "http_status": http_status,
                    }
                )
            done = http_status is not None and http_status != 429 and http_status < 500
            if done or attempt == WEBHOOK_TRIES or self._stopping.wait(backoff):
                self.log_event(
                    event="status",
                    client_ref=body.get("client_ref"),
                    message_uuid=body["message_uuid"],
                    status=body["status"],
                    posted_at=posted_at,
                    answered_at=time.time(),
                    http_status=http_status,
                    tries=attempt,
                )
                if not done:
                    logger.warning("sandbox gave up delivering %s to %s", body["status"], url)
                return
            backoff *= 2


class _Handler(BaseHTTPRequestHandler):
    server_version = "SandboxMessagesApi/1.0"

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        sandbox: SandboxMessagesApi = self.server.sandbox  # type: ignore[attr-defined]
        body: dict | None = None
        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if self.path.split("?")[0] != API_PATH:
                raise SendError(404, "Not found", f"No resource at {self.path}", "not-found")
            status, answer = sandbox.handle_send(self.headers.get("Authorization"), raw)
        except SendError as error:
            status, answer = error.status, error.body
        except Exception:
            logger.exception("sandbox handler failed")
            status, answer = (
                500,
                SendError(500, "Internal error", "The sandbox failed", "internal-error").body,
            )
        to = body.get("to") if isinstance(body, dict) else None
        with sandbox._lock:
            sandbox.attempts.append({"path": self.path, "to": to, "body": body, "http_status": status})
        sandbox.log_event(
            event="send",
            t=time.time(),
            client_ref=body.get("client_ref") if isinstance(body, dict) else None,
            suffix=to[-2:] if isinstance(to, str) else None,
            http_status=status,
        )
        self._answer(status, answer)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(404, SendError(404, "Not found", f"No resource at {self.path}", "not-found").body)

    def _answer(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if status < 400 else "application/problem+json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server signature)
        logger.debug("sandbox %s - %s", self.address_string(), format % args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the local sandbox Messages API v1.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3100)
    parser.add_argument("--status-delay", type=float, default=0.2)
    parser.add_argument("--default-status-url", default=os.environ.get("SANDBOX_DEFAULT_STATUS_URL"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sandbox = SandboxMessagesApi(
        host=args.host,
        port=args.port,
        status_delay=args.status_delay,
        default_status_url=args.default_status_url,
        api_key=os.environ.get("SANDBOX_API_KEY", "sandbox-key"),
        api_secret=os.environ.get("SANDBOX_API_SECRET", "sandbox-secret"),
        signature_secret=os.environ.get("SANDBOX_SIGNATURE_SECRET", "sandbox-signature-secret-32-bytes"),
    )
    sandbox.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
