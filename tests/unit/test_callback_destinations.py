"""Callbacks never go inward: checked after DNS resolution at delivery, and the connection made to
the checked address (no network: socket.getaddrinfo is replaced, the one server is on loopback)."""

from __future__ import annotations

import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fakes import DISPATCH_UUID, canonical_item

from dispatch.domain.destinations import ForbiddenDestination, resolve_public_address
from dispatch.integrations.callback_events import final_report_event
from dispatch.integrations.callbacks import deliver, post_to_public_address
from dispatch.integrations.pinned_http import post_to_address

ACCOUNT = {"account_id": "acct-1", "api_key": "key-1", "signature_secret": "s" * 32}
REAL_GETADDRINFO = socket.getaddrinfo


class FakeDns:
    """getaddrinfo for made-up names; IP literals go to the real one (no lookup for those)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        if host in self.answers:
            self.lookups.append(host)
            return [
                (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in self.answers[host]
            ]
        if host.replace(".", "").isdigit() or ":" in host:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns(
        {
            "rebound.shop.example": ["127.0.0.1"],
            "metadata.shop.example": ["169.254.169.254"],
            "mixed.shop.example": ["93.184.215.14", "10.0.0.7"],
            "v6.shop.example": ["::1"],
        }
    )
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


class Receiver(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        Receiver.requests.append({"host": self.headers["Host"], "body": self.rfile.read(length)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def finished_item(callback_url: str) -> dict:
    item = canonical_item()
    item.update(status="completed", finished_at="2026-01-01T00:01:00.000Z", callback_url=callback_url)
    return item


def deliver_to(url: str, *, allow_loopback: bool = False):
    return deliver(
        final_report_event(DISPATCH_UUID),
        workflow=finished_item(url),
        account=ACCOUNT,
        post=lambda target, **kwargs: post_to_public_address(target, allow_loopback=allow_loopback, **kwargs),
        stored_report=lambda report: (report, True),
        now=lambda: datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://rebound.shop.example/cb", "loopback"),
        ("https://metadata.shop.example/latest", "link-local"),
        ("https://mixed.shop.example/cb", "private"),  # one inward answer among public ones is enough
        ("https://v6.shop.example/cb", "loopback"),
        ("https://10.1.2.3/cb", "private"),  # stored before the create-time check existed
    ],
)
def test_a_callback_to_a_name_resolving_inward_is_dead_lettered_with_its_reason(dns, url, reason):
    delivery = deliver_to(url)

    assert delivery.outcome == "dead_letter"
    assert reason in delivery.detail


def test_the_delivery_connects_to_the_address_it_checked_with_the_urls_host(dns, receiver):
    # The local stack's exception (loopback allowed) lets a name resolve to this machine's server.
    delivery = deliver_to(f"http://rebound.shop.example:{receiver}/cb", allow_loopback=True)

    assert delivery.outcome == "delivered"
    # Resolved once, and that answer was used to connect: nothing left to rebind.
    assert dns.lookups == ["rebound.shop.example"]
    (request,) = Receiver.requests
    assert request["host"] == f"rebound.shop.example:{receiver}"


def test_the_local_stack_exception_allows_loopback_and_nothing_else(dns, receiver):
    assert deliver_to(f"http://127.0.0.1:{receiver}/cb", allow_loopback=True).outcome == "delivered"
    assert deliver_to(f"http://127.0.0.1:{receiver}/cb").outcome == "dead_letter"
    assert deliver_to("https://metadata.shop.example/", allow_loopback=True).outcome == "dead_letter"
    assert len(Receiver.requests) == 1


def test_a_name_that_does_not_resolve_is_retried_like_a_receiver_that_is_down(dns):
    assert deliver_to("https://gone.shop.example/cb").outcome == "retry"


def test_a_public_answer_is_the_address_connected_to(dns):
    dns.answers["public.shop.example"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]

    assert resolve_public_address("public.shop.example", 443) == "93.184.215.14"


def test_no_request_leaves_for_an_inward_address(dns, monkeypatch):
    def no_connection(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    monkeypatch.setattr("urllib3.util.connection.create_connection", no_connection)

    with pytest.raises(ForbiddenDestination):
        post_to_public_address("https://rebound.shop.example/cb", data=b"{}")
    with pytest.raises(ForbiddenDestination):
        post_to_public_address("https://[::ffff:169.254.169.254]/cb", data=b"{}")


def self_signed_certificate(tmp_path, name: str) -> tuple[str, str]:
    """A certificate for `name` (and its key), as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


def test_https_to_the_pinned_address_checks_the_certificate_of_the_urls_name(dns, tmp_path):
    cert, key = self_signed_certificate(tmp_path, "rebound.shop.example")
    Receiver.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        # The connection goes to 127.0.0.1; SNI, Host and the certificate check use the name.
        response = post_to_address(
            f"https://rebound.shop.example:{port}/cb", "127.0.0.1", data=b"{}", verify=cert
        )
        assert response.status_code == 204
        assert Receiver.requests[0]["host"] == f"rebound.shop.example:{port}"
        # A certificate for another name is refused, pinned address or not.
        with pytest.raises(requests.exceptions.SSLError):
            post_to_address(f"https://other.shop.example:{port}/cb", "127.0.0.1", data=b"{}", verify=cert)
    finally:
        server.shutdown()
        server.server_close()
    assert dns.lookups == []  # nothing was resolved: the address was given
