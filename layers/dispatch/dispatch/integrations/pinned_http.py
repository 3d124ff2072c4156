"""HTTP to an address checked beforehand: the TCP connection goes to that address, while the URL's
host name still drives everything else (Host header, TLS SNI, certificate verification).

Without pinning, the HTTP client would resolve the name again when it connects, and a name whose
DNS answer changes between the check and the connection (DNS rebinding) could reach an address
that was never checked (see dispatch.domain.destinations).
"""

from __future__ import annotations

import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection


class _PinnedConnectionMixin:
    """Connects to `pinned_address` instead of resolving `host` (urllib3 HTTP(S)Connection)."""

    pinned_address: str

    def _new_conn(self) -> socket.socket:
        try:
            return create_connection(
                (self.pinned_address, self.port),  # type: ignore[attr-defined]
                self.timeout,  # type: ignore[attr-defined]
                source_address=self.source_address,  # type: ignore[attr-defined]
                socket_options=self.socket_options,  # type: ignore[attr-defined]
            )
        except TimeoutError as error:
            raise ConnectTimeoutError(self, f"Connection to {self.pinned_address} timed out") from error
        except OSError as error:
            # `self` is an HTTPConnection once mixed in (see PinnedAddressAdapter).
            raise NewConnectionError(
                self,  # type: ignore[arg-type]
                f"Failed to establish a new connection: {error}",
            ) from error


class PinnedAddressAdapter(HTTPAdapter):
    """A transport adapter whose connections all go to one IP address."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        attributes = {"pinned_address": self._address}
        http = type("PinnedHTTPConnection", (_PinnedConnectionMixin, HTTPConnection), attributes)
        https = type("PinnedHTTPSConnection", (_PinnedConnectionMixin, HTTPSConnection), attributes)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }


def post_to_address(url: str, address: str, **kwargs: Any) -> requests.Response:
    """POST to `url`, connecting to `address` (which the caller checked) whatever DNS says now."""
    with requests.Session() as session:
        # No proxy from the environment: the connection must go where the check said.
        session.trust_env = False
        adapter = PinnedAddressAdapter(address)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session.post(url, **kwargs)
