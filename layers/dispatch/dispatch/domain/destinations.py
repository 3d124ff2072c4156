"""Where callbacks may go: public addresses only.

A callback URL is customer input; the delivery function POSTs to it from inside our network. A
URL aimed inward (loopback, private ranges, link-local such as the instance metadata service at
169.254.169.254, ...) would let a customer make us call our own infrastructure, so it is refused:

- when it is given (a workflow's `callback`, an account's callback URL), by its host as written:
  an IP literal in any spelling a resolver accepts (`127.1`, `0x7f.0.0.1`, `[::ffff:127.0.0.1]`)
  or a name that is loopback by definition (`localhost`, `*.localhost`);
- when a callback is delivered, after DNS resolution: every address the name resolves to must be
  public, and the connection is made to the address that was checked (see
  dispatch.integrations.pinned_http), so a name that resolves differently a moment later (DNS
  rebinding) cannot slip through. Names are not resolved at create time: an answer then proves
  nothing about the answer at delivery, and the create path should not wait on DNS.

The local stack's one exception (ALLOW_HTTP_LOOPBACK_CALLBACKS): loopback is allowed, over http
too, so that callbacks can reach a receiver on the same machine.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# What inet_aton would read as an IPv4 address: `127.1`, `2130706433`, `0x7f.0.0.1`, ...
_LEGACY_IPV4 = re.compile(r"[0-9a-fA-Fx.]+")


class ForbiddenDestination(ValueError):
    """The URL's host is, or resolves to, an address callbacks must not go to."""


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, Teredo), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour:
            return address.sixtofour
        if address.teredo:
            return address.teredo[1]
    return address


def address_kind(address: IPAddress) -> str | None:
    """Why callbacks must not go to `address` ("loopback", "private", ...), or None if public."""
    address = _embedded_ipv4(address)
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not globally routable"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells without any DNS lookup, or None for a name."""
    host = host.strip("[]").split("%", 1)[0]  # brackets and an IPv6 zone id
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _is_loopback_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


def _refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    kind = address_kind(address)
    if kind == "loopback" and allow_loopback:
        return None
    return kind


def check_callback_url(url: str, *, allow_loopback: bool = False) -> None:
    """Raise ForbiddenDestination unless callbacks may be posted to `url` as written: https
    (http only to loopback where loopback is allowed) to a host that is not inward."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as error:
        raise ForbiddenDestination("has a malformed host") from error
    if not host or parts.scheme not in ("http", "https"):
        raise ForbiddenDestination("must be an absolute https URL")
    address = literal_address(host)
    loopback = _is_loopback_name(host) or (address is not None and address_kind(address) == "loopback")
    if parts.scheme == "http" and not (allow_loopback and loopback):
        raise ForbiddenDestination(
            "must use https" + (" (http only to 127.0.0.1 or localhost)" if allow_loopback else "")
        )
    if loopback and not allow_loopback:
        raise ForbiddenDestination("must not point to this machine (a loopback address)")
    if address is not None:
        kind = _refusal(address, allow_loopback=allow_loopback)
        if kind:
            raise ForbiddenDestination(f"must not point to a {kind} address")


GetAddrInfo = Callable[..., list]


def resolve_public_address(
    host: str, port: int, *, allow_loopback: bool = False, getaddrinfo: GetAddrInfo | None = None
) -> str:
    """Resolve `host` and return the address to connect to, after checking every address it
    resolves to. Raises ForbiddenDestination if any is inward (a name with one private answer
    among public ones is refused: which one a client picks is not ours to predict), and OSError
    (socket.gaierror) if the name does not resolve."""
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        lookup = getaddrinfo or socket.getaddrinfo
        infos = lookup(host, port, type=socket.SOCK_STREAM)
        # sockaddr[0] is the address string (a scope id after "%" for IPv6 link-local).
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not addresses:
            raise socket.gaierror(f"{host} has no address")
    for address in addresses:
        kind = _refusal(address, allow_loopback=allow_loopback)
        if kind:
            raise ForbiddenDestination(f"{host} resolves to a {kind} address ({address})")
    return str(addresses[0])
