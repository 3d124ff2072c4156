"""A small client of the Vonage Messages API v1 send endpoint, with a bounded, safe retry.

It speaks HTTP with urllib3, which botocore has loaded already, rather than requests: importing
requests costs a send's cold start about a tenth of a bare boto3 function (docs/performance.md),
for what is here one POST.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, ReadTimeoutError, SSLError

from dispatch.domain.ports import SendResult
from dispatch.observability import tracer

__all__ = ["RETRYABLE_STATUSES", "MessagesApiClient", "SendResult"]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def _ca_bundle() -> str | None:
    """Mozilla's CA bundle, as botocore and requests verify with (the system's otherwise)."""
    try:
        import certifi  # botocore has loaded it already when it is installed
    except ImportError:
        return None
    return certifi.where()


class MessagesApiClient:
    """POSTs to `<base_url>/v1/messages` with Basic auth.

    429 and 5xx answers and connection failures (nothing reached the provider) are retried with
    exponential backoff, at most `max_attempts` times; any other 4xx is final. A read timeout is
    not retried: the provider may have accepted the message, and a retry could send it twice.
    `pool` is the urllib3 pool manager to send through (one per process by default); it is
    always called without urllib3's own retries or redirects.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        pool: urllib3.PoolManager | None = None,
        max_attempts: int = 3,
        backoff_seconds: float = 0.5,
        timeout: tuple[float, float] = (3.05, 10.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = base_url.rstrip("/") + "/v1/messages"
        credentials = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self._headers = {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._pool = pool or _shared_pool()
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self._sleep = sleep

    @tracer.capture_method  # an X-Ray subsegment per send, retries included
    def send(self, body: dict[str, Any]) -> SendResult:
        payload = json.dumps(body).encode()
        error: dict[str, Any] = {}
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = self._pool.request(
                    "POST",
                    self._url,
                    body=payload,
                    headers=self._headers,
                    timeout=self._timeout,
                    retries=False,
                    redirect=False,
                )
            except ReadTimeoutError:
                return SendResult(accepted=False, unknown=True, error={"title": "No answer in time"})
            except (ConnectTimeoutError, SSLError) as exc:
                # No connection, or no TLS session: the request was never sent, a retry is safe.
                # (NewConnectionError, a refused or unresolved connection, is a ConnectTimeoutError.)
                error = {"title": "Connection failed", "detail": type(exc).__name__}
            except HTTPError:
                # The connection broke once the request was on its way: it may have gone out.
                return SendResult(accepted=False, unknown=True, error={"title": "Connection lost"})
            else:
                if response.status in (200, 202):
                    return SendResult(accepted=True, message_uuid=_message_uuid(response.data))
                error = _problem(response.status, response.data)
                if response.status not in RETRYABLE_STATUSES:
                    return SendResult(accepted=False, error=error)
            if attempt < self._max_attempts:
                self._sleep(self._backoff_seconds * 2 ** (attempt - 1))
        return SendResult(accepted=False, error=error)


_pool: urllib3.PoolManager | None = None


def _shared_pool() -> urllib3.PoolManager:
    """One pool per process, so a warm function reuses its connection to the provider."""
    global _pool
    if _pool is None:
        _pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=_ca_bundle())
    return _pool


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:  # not JSON, or not UTF-8
        return None


def _message_uuid(data: bytes) -> str | None:
    """The accepted message's uuid; an odd 2xx body still means the message went out."""
    body = _json(data)
    uuid = body.get("message_uuid") if isinstance(body, dict) else None
    return uuid if isinstance(uuid, str) else None


def _problem(status: int, data: bytes) -> dict[str, Any]:
    """The useful, PII-free part of a problem body (its detail may quote the recipient: dropped)."""
    body = _json(data)
    if not isinstance(body, dict):
        body = {}
    problem: dict[str, Any] = {"http_status": status}
    for key in ("type", "title", "instance"):
        if isinstance(body.get(key), str):
            problem[key] = body[key]
    parameters = body.get("invalid_parameters")
    parameters = parameters if isinstance(parameters, list) else []
    names = [p.get("name") for p in parameters if isinstance(p, dict)]
    if names:
        problem["invalid_parameters"] = [name for name in names if isinstance(name, str)]
    return problem
