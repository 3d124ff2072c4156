"""A small local stand-in for API Gateway (HTTP API, payload 2.0), built from the OpenAPI body
that the SAM transform generates from `template.yaml`: same routes, same Lambda authorizer
(with its result cache), same event shape. moto does not serve HTTP APIs itself.

It holds a burst (a deep listen backlog, a thread per connection) and applies the HTTP API's
request quotas: a payload of at most 10 MB (413) and at most 10240 bytes of request line and
header values together (414 when the request line alone is over, else 431). Whatever the gateway
itself refuses is an RFC 7807 problem body (application/problem+json), never an HTML page."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local_stack.docs import docs_response

# `${Function.Arn}`, or `${FunctionAliaslive}` where the template calls a function's alias.
_FUNCTION_IN_URI = re.compile(r"\$\{([A-Za-z0-9]+?)(?:\.Arn|Alias[A-Za-z0-9]+)\}")
_ALIAS = re.compile(r"^([A-Za-z0-9]+?)Alias[A-Za-z0-9]+$")

# HTTP API quotas (AWS docs, "Quotas for configuring and running an HTTP API"): not adjustable.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
MAX_REQUEST_LINE_AND_HEADERS_BYTES = 10240
DISCARD_BYTES = 4 * MAX_PAYLOAD_BYTES  # a refused body up to this size is read and dropped
ERRORS_BASE = "https://developer.vonage.com/api-errors"

Invoke = Callable[[str, dict[str, Any]], tuple[Any, bool]]  # (logical id, event) -> (result, failed)


@dataclass(frozen=True)
class Authorizer:
    function: str  # logical id
    identity_header: str
    ttl_seconds: int


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as declared, e.g. /v0.1/workflows/{dispatch_uuid}
    function: str  # logical id
    authorizer: str | None
    pattern: re.Pattern

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def _logical_id_from_uri(uri: Any) -> str:
    if isinstance(uri, dict) and "Fn::Sub" in uri:
        sub = uri["Fn::Sub"]
        if isinstance(
            sub, list
        ):  # ["...${__FunctionArn__}...", {"__FunctionArn__": {"Fn::GetAtt": [id, "Arn"]}}]
            function = next(iter(sub[1].values()))
            if "Ref" in function:  # {"Ref": "<id>Alias<name>"}
                return _ALIAS.sub(r"\1", function["Ref"])
            return function["Fn::GetAtt"][0]
        match = _FUNCTION_IN_URI.search(sub)
        if match:
            return match.group(1)
    raise ValueError(f"Unsupported integration uri: {uri!r}")


def routes_from_cloudformation(cfn: dict[str, Any], api_logical_id: str = "HttpApi"):
    """(routes, authorizers) of the HTTP API as the SAM transform declared them."""
    body = cfn["Resources"][api_logical_id]["Properties"]["Body"]
    authorizers = {}
    for name, scheme in body.get("components", {}).get("securitySchemes", {}).items():
        spec = scheme["x-amazon-apigateway-authorizer"]
        header = spec["identitySource"][0].removeprefix("$request.header.")
        authorizers[name] = Authorizer(
            function=_logical_id_from_uri(spec["authorizerUri"]),
            identity_header=header.lower(),
            ttl_seconds=int(spec.get("authorizerResultTtlInSeconds", 0)),
        )
    routes = []
    for path, operations in body["paths"].items():
        # API Gateway also matches a path with a trailing slash to its route (and passes it on as is).
        pattern = re.compile("^" + re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "/?$")
        for method, operation in operations.items():
            security = next(iter(operation.get("security", [{}])[0] or {"NONE": []}), "NONE")
            routes.append(
                Route(
                    method=method.upper(),
                    path=path,
                    function=_logical_id_from_uri(operation["x-amazon-apigateway-integration"]["uri"]),
                    authorizer=None if security == "NONE" else security,
                    pattern=pattern,
                )
            )
    return routes, authorizers


class LocalHttpApi:
    """Serves the template's routes on host:port and invokes their functions."""

    def __init__(
        self,
        routes: list[Route],
        authorizers: dict[str, Authorizer],
        invoke: Invoke,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
    ) -> None:
        self.routes = routes
        self.authorizers = authorizers
        self._invoke = invoke
        self._auth_cache: dict[tuple[str, str], tuple[float, dict]] = {}
        self._server = _BurstServer((host, port), self._request_handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="local-http-api",
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict, bytes]:
        """One request, as API Gateway would answer it."""
        path, _, query = raw_path.partition("?")
        # Swagger UI at /docs: a local convenience, not a route of the template.
        if method == "GET" and (docs := docs_response(path)) is not None:
            return docs
        headers = {key.lower(): value for key, value in headers.items()}
        for route in self.routes:
            match = route.pattern.match(path)
            if match and route.method == method:
                break
        else:
            return _gateway_message(404, "Not Found")
        authorizer_context = None
        if route.authorizer:
            authorizer = self.authorizers[route.authorizer]
            identity = headers.get(authorizer.identity_header)
            if not identity:
                return _gateway_message(401, "Unauthorized")
            result = self._authorize(route, authorizer, identity, headers, path, query)
            if result is None:
                return _gateway_message(500, "Internal Server Error")
            if not result.get("isAuthorized"):
                return _gateway_message(403, "Forbidden")
            authorizer_context = result.get("context") or {}
        event = _event(route, path, query, headers, body, match.groupdict(), self.url, authorizer_context)
        result, failed = self._invoke(route.function, event)
        if failed:
            return _gateway_message(500, "Internal Server Error")
        return _response(result)

    def _authorize(self, route, authorizer, identity, headers, path, query) -> dict | None:
        key = (route.authorizer, identity)
        cached = self._auth_cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        event = _event(route, path, query, headers, b"", {}, self.url, None)
        event.update(
            {
                "type": "REQUEST",
                "identitySource": [identity],
                "routeArn": f"arn:aws:execute-api:local:000000000000:local/$default/{route.route_key}",
            }
        )
        event.pop("body", None)
        result, failed = self._invoke(authorizer.function, event)
        if failed or not isinstance(result, dict):
            return None
        if authorizer.ttl_seconds:
            self._auth_cache[key] = (time.monotonic() + authorizer.ttl_seconds, result)
        return result

    def _request_handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                refused = self._refusal()
                if refused is not None:
                    status, headers, payload = refused
                    self._discard_body()
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else b""
                    try:
                        status, headers, payload = gateway.handle(
                            self.command, self.path, dict(self.headers), body
                        )
                    except Exception:  # the gateway itself must never drop a connection
                        status, headers, payload = _gateway_message(500, "Internal Server Error")
                self._send(status, headers, payload)

            def _refusal(self) -> tuple[int, dict, bytes] | None:
                """API Gateway's answer to a request over its quotas, before reading the body."""
                line = len(self.requestline.encode("latin-1", "replace"))
                values = sum(len(value.encode("latin-1", "replace")) for value in self.headers.values())
                limit = MAX_REQUEST_LINE_AND_HEADERS_BYTES
                if line > limit:
                    return problem(414, "URI Too Long", f"The request line is over {limit} bytes.")
                if line + values > limit:
                    return problem(
                        431,
                        "Request Header Fields Too Large",
                        f"The request line and header values are over {limit} bytes together.",
                    )
                raw_length = self.headers.get("Content-Length") or "0"
                if not raw_length.isdigit():
                    return problem(400, "Bad request", "The Content-Length header is not a number.")
                if int(raw_length) > MAX_PAYLOAD_BYTES:
                    return problem(
                        413, "Payload Too Large", f"The request body is over {MAX_PAYLOAD_BYTES} bytes."
                    )
                return None

            def _discard_body(self) -> None:
                """Read a refused body, up to a bound, so that the client reads our answer instead of
                a reset; beyond it, close the connection."""
                raw_length = self.headers.get("Content-Length") or "0"
                length = int(raw_length) if raw_length.isdigit() else DISCARD_BYTES + 1
                if length > DISCARD_BYTES:
                    self.close_connection = True
                    return
                while length > 0:
                    chunk = self.rfile.read(min(length, 1 << 20))
                    if not chunk:
                        break
                    length -= len(chunk)

            def handle_expect_100(self) -> bool:
                # A client that asks first (curl does for large bodies) gets the refusal instead.
                refused = self._refusal()
                if refused is None:
                    return super().handle_expect_100()
                self.close_connection = True
                self._send(*refused)
                return False

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                """http.server's own refusals (request line or a header line over 64 KB, too many
                headers, a malformed request): problem bodies instead of its HTML page."""
                self.close_connection = True
                try:
                    title = HTTPStatus(code).phrase
                except ValueError:
                    title = message or "Error"
                detail = explain or message or title
                if code == HTTPStatus.REQUEST_URI_TOO_LONG:
                    detail = f"The request line is over {MAX_REQUEST_LINE_AND_HEADERS_BYTES} bytes."
                elif code == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
                    detail = f"The request headers are over {MAX_REQUEST_LINE_AND_HEADERS_BYTES} bytes."
                self._send(*problem(code, title, detail))

            def _send(self, status: int, headers: dict, payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def __getattr__(self, name: str):
                # Every method (TRACE, QUERY, ...): one without a route is API Gateway's 404, not a 501.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def log_message(self, format, *args):  # quiet: the functions log what matters
                pass

        return Handler


class _BurstServer(ThreadingHTTPServer):
    # socketserver's default backlog of 5 resets connections when a burst of clients connects
    # faster than the accept loop runs; the kernel caps this at net.core.somaxconn.
    request_queue_size = 1024
    daemon_threads = True


def _gateway_message(status: int, message: str) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()


def problem(status: int, title: str, detail: str) -> tuple[int, dict, bytes]:
    """An RFC 7807 problem answer of the gateway itself (its quotas, malformed requests)."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    body = {"type": f"{ERRORS_BASE}#{slug}", "title": title, "detail": detail, "instance": str(uuid.uuid4())}
    return status, {"Content-Type": "application/problem+json"}, json.dumps(body).encode()


def _event(route, path, query, headers, body, path_parameters, url, authorizer_context) -> dict[str, Any]:
    now = datetime.now(UTC)
    domain = urlsplit(url).netloc
    headers = {**headers, "x-forwarded-proto": "http", "host": domain}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": route.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        # API Gateway decodes the values; repeated names are joined with commas.
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        try:
            event["body"] = body.decode()
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    if authorizer_context is not None:
        event["requestContext"]["authorizer"] = {"lambda": authorizer_context}
    return event


def _response(result: Any) -> tuple[int, dict, bytes]:
    """Payload 2.0 response mapping: a dict with statusCode is used as is, anything else is JSON."""
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        headers = {key: str(value) for key, value in (result.get("headers") or {}).items()}
        headers.setdefault("Content-Type", "application/json")
        return int(result["statusCode"]), headers, payload
    return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()
