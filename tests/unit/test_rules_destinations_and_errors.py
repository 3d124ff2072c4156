"""Where callbacks may go (dispatch.domain.destinations), reason by reason, and what the domain
errors carry (dispatch.domain.errors): the resolver turns both into problem bodies word for word.

Found by mutation testing (`make mutation`): each rule here could change without another test
failing.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

from dispatch.domain.destinations import (
    ForbiddenDestination,
    check_callback_url,
    literal_address,
    resolve_public_address,
)
from dispatch.domain.errors import (
    BodyTooLarge,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    InvalidParameters,
    MalformedBody,
    MessageNotFound,
    NotAuthenticated,
)
from dispatch.domain.status_errors import dispatch_error, error_code, error_reason, reported_error


def refusal(url: str, **kwargs) -> str:
    with pytest.raises(ForbiddenDestination) as raised:
        check_callback_url(url, **kwargs)
    return str(raised.value)


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("169.254.169.254", "link-local"),  # the instance metadata service
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("10.0.0.1", "private"),
        ("100.64.0.1", "not globally routable"),  # carrier-grade NAT
        ("[64:ff9b::a00:1]", "private"),  # NAT64 of 10.0.0.1
        ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "private"),  # Teredo, client 192.0.2.45
    ],
)
def test_an_inward_address_is_refused_by_its_kind(host, kind) -> None:
    assert refusal(f"https://{host}/callbacks") == f"must not point to a {kind} address"


def test_loopback_is_refused_unless_allowed_and_http_only_to_loopback() -> None:
    assert refusal("https://127.0.0.1/callbacks") == "must not point to this machine (a loopback address)"
    assert refusal("https://localhost./callbacks") == "must not point to this machine (a loopback address)"
    assert refusal("http://127.0.0.1/callbacks") == "must use https"
    check_callback_url("http://127.0.0.1:8080/callbacks", allow_loopback=True)
    check_callback_url("https://shop.example/callbacks")


def test_a_literal_address_is_read_inside_brackets_and_without_its_zone() -> None:
    assert literal_address("[::1]") == ipaddress.ip_address("::1")
    assert literal_address("[fe80::1%eth0]") == ipaddress.ip_address("fe80::1")
    assert literal_address("shop.example") is None


class Resolver:
    """getaddrinfo's stand-in: answers `addresses` and notes how it was asked."""

    def __init__(self, *addresses: str) -> None:
        self.addresses, self.calls = addresses, []

    def __call__(self, host, port, **kwargs):
        self.calls.append((host, port, kwargs))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in self.addresses]


def test_a_name_is_resolved_for_its_port_over_tcp_and_its_first_address_returned() -> None:
    resolver = Resolver("93.184.215.14", "93.184.215.15")
    assert resolve_public_address("shop.example", 8443, getaddrinfo=resolver) == "93.184.215.14"
    assert resolver.calls == [("shop.example", 8443, {"type": socket.SOCK_STREAM})]


def test_a_literal_address_is_not_looked_up() -> None:
    resolver = Resolver()
    assert resolve_public_address("93.184.215.14", 443, getaddrinfo=resolver) == "93.184.215.14"
    assert resolver.calls == []


def test_a_name_resolving_to_loopback_is_refused_by_default() -> None:
    with pytest.raises(ForbiddenDestination) as raised:
        resolve_public_address("shop.example", 443, getaddrinfo=Resolver("127.0.0.1"))
    assert str(raised.value) == "shop.example resolves to a loopback address (127.0.0.1)"
    assert resolve_public_address("shop.example", 443, allow_loopback=True, getaddrinfo=Resolver("127.0.0.1"))


def test_a_name_without_an_address_says_so() -> None:
    with pytest.raises(socket.gaierror) as raised:
        resolve_public_address("shop.example", 443, getaddrinfo=Resolver())
    assert str(raised.value) == "shop.example has no address"


# -- what the errors carry ------------------------------------------------------------------------


def test_idempotency_errors_name_the_header_and_the_rule() -> None:
    assert [tuple(e) for e in InvalidIdempotencyKey().errors] == [
        ("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
    ]
    assert [tuple(e) for e in IdempotencyKeyReused().errors] == [
        ("Idempotency-Key", "was already used with a different request body")
    ]
    assert str(InvalidIdempotencyKey()) == str(IdempotencyKeyReused()) == "Idempotency-Key"


def test_errors_say_what_they_are_about() -> None:
    assert str(InvalidParameters([("a", "x"), ("b", "y")])) == "a, b"
    assert str(MalformedBody("The request body is not valid JSON.")) == "The request body is not valid JSON."
    assert BodyTooLarge(1024).args == (1024,) and BodyTooLarge(1024).limit_bytes == 1024
    assert NotAuthenticated().reason == "invalid_credentials" == str(NotAuthenticated())
    assert str(NotAuthenticated("expired_token")) == "expired_token"
    missing = MessageNotFound("aaaaaaaa-bbbb-cccc-dddd-0123456789ab")
    assert missing.message_uuid == str(missing) == "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


# -- found by the run of 2026-11-29 -----------------------------------------------------------------


def test_an_ipv6_literal_loses_everything_after_the_first_percent_sign_its_zone_id() -> None:
    assert literal_address("[2606:4700::1%eth0%x]") == ipaddress.IPv6Address("2606:4700::1")


@pytest.mark.parametrize(("code", "kept"), [(0, 0), (999_999_999, 999_999_999), (10**9, None), (-1, None)])
def test_a_numeric_error_code_is_kept_from_0_to_nine_digits(code, kept) -> None:
    assert error_code({"code": code}) == kept


def test_an_error_type_whose_last_segment_is_not_all_digits_gives_no_code() -> None:
    assert error_code({"type": "https://developer.vonage.com/api-errors/messages#1020X"}) is None


def test_a_reason_of_exactly_200_characters_is_kept_whole() -> None:
    reason = "r" * 200
    assert error_reason({"title": reason}) == reason
    assert error_reason({"title": reason + "r"}) == "r" * 199 + "…"


def test_a_stored_error_without_a_reason_is_reported_as_not_delivered() -> None:
    assert reported_error({}, None) == {"code": None, "reason": "The message was not delivered."}
    assert reported_error({}, "rejected") == {"code": None, "reason": "The message was rejected."}


# -- found by the run of 2026-11-29, second pass -----------------------------------------------------


@pytest.mark.parametrize("host", ["0x7F.0.0.1", "0x7F000001", "0x7f.1"])
def test_a_legacy_ipv4_literal_is_read_whatever_the_case_of_its_hex_digits(host) -> None:
    # inet_aton reads hex digits in either case: so must the pattern that decides whether to ask it
    assert literal_address(host) == ipaddress.IPv4Address("127.0.0.1")


def test_an_error_type_is_stored_up_to_300_characters() -> None:
    kind = "https://example.com/errors/" + "t" * 300
    assert dispatch_error({"type": kind[:300]})["type"] == kind[:300]
    assert dispatch_error({"type": kind})["type"] == kind[:300]
