"""A small client of the Vonage Messages API v1 send endpoint, with a bounded, safe retry."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from dispatch.domain.ports import SendResult
from dispatch.observability import trace_http

__all__ = ["RETRYABLE_STATUSES", "MessagesApiClient", "SendResult"]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class MessagesApiClient:
    """POSTs to `<base_url>/v1/messages` with Basic auth.

    429 and 5xx answers and connection failures (nothing reached the provider) are retried with
    exponential backoff, at most `max_attempts` times; any other 4xx is final. A read timeout is
    not retried: the provider may have accepted the message, and a retry could send it twice.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        session: requests.Session | None = None,
        max_attempts: int = 3,
        backoff_seconds: float = 0.5,
        timeout: tuple[float, float] = (3.05, 10.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        trace_http()
        self._url = base_url.rstrip("/") + "/v1/messages"
        self._auth = (api_key, api_secret)
        self._session = session or requests.Session()
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._timeout = timeout
        self._sleep = sleep

    def send(self, body: dict[str, Any]) -> SendResult:
        error: dict[str, Any] = {}
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = self._session.post(self._url, json=body, auth=self._auth, timeout=self._timeout)
            except requests.ReadTimeout:
                return SendResult(accepted=False, unknown=True, error={"title": "No answer in time"})
            except requests.ConnectionError as exc:
                if not _never_reached_provider(exc):
                    return SendResult(accepted=False, unknown=True, error={"title": "Connection lost"})
                error = {"title": "Connection failed", "detail": type(exc).__name__}
            else:
                if response.status_code in (200, 202):
                    return SendResult(accepted=True, message_uuid=_message_uuid(response))
                error = _problem(response)
                if response.status_code not in RETRYABLE_STATUSES:
                    return SendResult(accepted=False, error=error)
            if attempt < self._max_attempts:
                self._sleep(self._backoff_seconds * 2 ** (attempt - 1))
        return SendResult(accepted=False, error=error)


def _message_uuid(response: requests.Response) -> str | None:
    """The accepted message's uuid; an odd 2xx body still means the message went out."""
    try:
        body = response.json()
    except ValueError:
        return None
    uuid = body.get("message_uuid") if isinstance(body, dict) else None
    return uuid if isinstance(uuid, str) else None


def _never_reached_provider(error: requests.ConnectionError) -> bool:
    """True when the connection was never made, so a retry cannot duplicate the message."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectTimeout) or isinstance(reason, NewConnectionError)


def _problem(response: requests.Response) -> dict[str, Any]:
    """The useful, PII-free part of a problem body (its detail may quote the recipient: dropped)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    problem: dict[str, Any] = {"http_status": response.status_code}
    for key in ("type", "title", "instance"):
        if isinstance(body.get(key), str):
            problem[key] = body[key]
    parameters = body.get("invalid_parameters")
    parameters = parameters if isinstance(parameters, list) else []
    names = [p.get("name") for p in parameters if isinstance(p, dict)]
    if names:
        problem["invalid_parameters"] = [name for name in names if isinstance(name, str)]
    return problem
