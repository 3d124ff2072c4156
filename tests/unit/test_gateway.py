"""The local HTTP API's own answers: API Gateway's HTTP API quotas as problem bodies, and a burst
of concurrent clients all answered."""

from __future__ import annotations

import concurrent.futures
import json
import re
import socket
import threading

import pytest
import requests

from local_stack.gateway import MAX_PAYLOAD_BYTES, MAX_REQUEST_LINE_AND_HEADERS_BYTES, LocalHttpApi, Route


def echo(function: str, event: dict) -> tuple[dict, bool]:
    """The route's function: answers with the size of the body it got."""
    return {"statusCode": 200, "body": json.dumps({"body_bytes": len(event.get("body") or "")})}, False


@pytest.fixture(scope="module")
def gateway():
    pattern = re.compile("^/echo$")
    route = Route(method="POST", path="/echo", function="Echo", authorizer=None, pattern=pattern)
    get = Route(method="GET", path="/echo", function="Echo", authorizer=None, pattern=pattern)
    api = LocalHttpApi([route, get], {}, echo, host="127.0.0.1", port=0)
    api.start()
    yield api
    api.stop()


def assert_problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "detail", "instance"}
    return body


def test_a_body_of_10_mb_is_passed_on(gateway):
    response = requests.post(f"{gateway.url}/echo", data=b"x" * MAX_PAYLOAD_BYTES)
    assert response.status_code == 200
    assert response.json() == {"body_bytes": MAX_PAYLOAD_BYTES}


def test_a_body_over_10_mb_is_a_413_problem(gateway):
    response = requests.post(f"{gateway.url}/echo", data=b"x" * (MAX_PAYLOAD_BYTES + 1))
    body = assert_problem(response, 413)
    assert "10485760 bytes" in body["detail"]


def test_a_client_that_expects_100_continue_gets_the_413_before_sending_the_body(gateway):
    with socket.create_connection(gateway._server.server_address[:2]) as connection:
        connection.sendall(
            f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_PAYLOAD_BYTES + 1}\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        answer = connection.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413 ")
    assert "application/problem+json" in answer


def test_a_request_line_over_the_quota_is_a_414_problem(gateway):
    response = requests.get(f"{gateway.url}/echo?q={'a' * MAX_REQUEST_LINE_AND_HEADERS_BYTES}")
    assert_problem(response, 414)


def test_a_request_line_over_64_kb_is_still_a_414_problem_not_an_html_page(gateway):
    response = requests.get(f"{gateway.url}/echo?q={'a' * 70_000}")
    assert_problem(response, 414)


def test_headers_over_the_quota_are_a_431_problem(gateway):
    response = requests.get(f"{gateway.url}/echo", headers={f"x-h{i}": "v" * 1000 for i in range(11)})
    assert_problem(response, 431)


def test_a_header_line_over_64_kb_is_a_431_problem(gateway):
    response = requests.get(f"{gateway.url}/echo", headers={"x-big": "v" * 70_000})
    assert_problem(response, 431)


def test_headers_just_under_the_quota_are_passed_on(gateway):
    response = requests.get(f"{gateway.url}/echo", headers={f"x-h{i}": "v" * 1000 for i in range(9)})
    assert response.status_code == 200


def test_a_content_length_that_is_not_a_number_is_a_400_problem(gateway):
    with socket.create_connection(gateway._server.server_address[:2]) as connection:
        connection.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n")
        answer = connection.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 400 ")
    assert "application/problem+json" in answer


def test_a_malformed_request_is_a_problem_not_an_html_page(gateway):
    with socket.create_connection(gateway._server.server_address[:2]) as connection:
        connection.sendall(b"GET /echo HTTP/9.9\r\n\r\n")
        answer = connection.recv(65536).decode()
    # Before its version is known a request is answered the HTTP/0.9 way: the body alone.
    assert json.loads(answer)["title"] == "HTTP Version Not Supported"
    assert "<html" not in answer.lower()


def test_a_burst_of_200_concurrent_clients_is_answered(gateway):
    start = threading.Barrier(200)

    def one_client(_: int) -> int:
        start.wait()  # all connect at once
        # Under a second to connect: a full listen backlog drops SYNs, retried only after 1 s.
        return requests.get(f"{gateway.url}/echo", timeout=(0.9, 30)).status_code

    with concurrent.futures.ThreadPoolExecutor(200) as clients:
        statuses = list(clients.map(one_client, range(200)))
    assert statuses == [200] * 200
