"""A callback receiver for trying callbacks locally: prints every callback it gets and whether
its signature verifies with your account's signature secret.

    python -m local_stack.receiver --port 4000 --signature-secret <secret> [--down-for 60]

`--down-for N` answers 503 for the first N seconds, to watch deliveries being retried.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dispatch.integrations.signatures import InvalidSignature, verify_webhook


class CallbackReceiver:
    """Records the callbacks POSTed to it; answers 503 while `down` (or for `down_for` seconds)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        down_for: float = 0,
        echo: bool = False,
        signature_secret: str | None = None,
    ) -> None:
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.down = False
        self._up_at = time.monotonic() + down_for
        self._echo = echo
        self._secret = signature_secret
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}/callbacks"

    def start(self) -> CallbackReceiver:
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def is_down(self) -> bool:
        return self.down or time.monotonic() < self._up_at

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.is_down():
                    receiver.refused += 1
                    self.send_response(503)
                    self.end_headers()
                    if receiver._echo:
                        print("503 (down): callback refused; it will be retried", flush=True)
                    return
                callback = {
                    "authorization": self.headers.get("Authorization"),
                    "raw": raw,
                    "body": json.loads(raw),
                }
                receiver.received.append(callback)
                self.send_response(204)
                self.end_headers()
                if receiver._echo:
                    receiver._print(callback)

            def log_message(self, *args):
                pass

        return Handler

    def _print(self, callback: dict[str, Any]) -> None:
        verdict = "not checked (no --signature-secret)"
        if self._secret:
            try:
                verify_webhook(callback["authorization"], callback["raw"], secret=self._secret)
                verdict = "signature OK"
            except InvalidSignature as error:
                verdict = f"signature INVALID: {error}"
        body = callback["body"]
        kind = "final report" if "template" in body else f"status '{body.get('status')}'"
        print(f"{kind} ({verdict})\n{json.dumps(body, indent=2)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack.receiver", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--port", type=int, default=4000)
    parser.add_argument("--signature-secret", help="the account's signature secret, to verify callbacks")
    parser.add_argument("--down-for", type=float, default=0, help="answer 503 for this many seconds first")
    args = parser.parse_args(argv)
    receiver = CallbackReceiver(
        port=args.port, down_for=args.down_for, echo=True, signature_secret=args.signature_secret
    ).start()
    print(f"Receiving callbacks at {receiver.url} (Ctrl-C to stop)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
