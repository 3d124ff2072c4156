"""AWS access for the functions: one boto3 session per process, each client made once.

A boto3 session loads botocore's data (endpoints, partitions, credentials chain): about as much
work as a client, so every client here, Powertools' idempotency store included, comes from the
same one. DynamoDB is used through the low-level client (see dispatch.storage.table), not
boto3's resource API, which loads and builds a resource model on top of the client.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3

from dispatch.observability import tracer
from dispatch.storage.table import DynamoDBTable

_lock = threading.Lock()
_session: boto3.session.Session | None = None
_clients: dict[str, Any] = {}
_secrets: dict[str, tuple[float, str]] = {}


def session() -> boto3.session.Session:
    """The process's boto3 session (boto3's default one, so `boto3.client` shares it too)."""
    global _session
    with _lock:
        if _session is None:
            # X-Ray subsegments for AWS calls (a no-op when tracing is off, as outside Lambda).
            tracer.patch(["botocore"])
            if boto3.DEFAULT_SESSION is None:
                boto3.setup_default_session()
            _session = boto3.DEFAULT_SESSION
        return _session


def client(service_name: str) -> Any:
    """The process's client of an AWS service (boto3 clients are thread-safe; sessions are not,
    hence the lock while one is made)."""
    if service_name not in _clients:
        current = session()
        with _lock:
            if service_name not in _clients:
                _clients[service_name] = current.client(service_name)
    return _clients[service_name]


class LazyClient:
    """The process's client of `service_name`, made on its first call. Making a client loads
    its service's model (about 0.03 of a bare boto3 function's cold start each): a function
    whose requests mostly do not call a service (a status webhook that decides no step never
    calls Step Functions) should not load it at every cold start."""

    def __init__(self, service_name: str) -> None:
        self.service_name = service_name

    def __getattr__(self, name: str) -> Any:
        return getattr(client(self.service_name), name)


def lazy_client(service_name: str) -> Any:
    return LazyClient(service_name)


def dynamodb_table(table_name: str) -> DynamoDBTable:
    return DynamoDBTable(client("dynamodb"), table_name)


def get_secret(name: str, *, transform: str | None = None, max_age: int = 300) -> Any:
    """A Secrets Manager secret's string (`transform="json"`: parsed), cached for `max_age`
    seconds, so rotations apply without a redeploy. What Powertools' parameters utility does for
    us here, without importing its every provider (SSM, AppConfig, DynamoDB) and making a
    session of its own."""
    cached = _secrets.get(name)
    if cached is None or time.monotonic() - cached[0] >= max_age:
        value = client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
        _secrets[name] = cached = (time.monotonic(), value)
    return json.loads(cached[1]) if transform == "json" else cached[1]
