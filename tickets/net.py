"""The one HTTP client for every request the server makes to a URL it was given.

Attachment URLs and callback URLs come from outside, so a request to one must never reach what only the
server can reach: its own loopback, the private network, a cloud metadata address. Every hop is checked
before anything is sent:

* the scheme is http or https and the port a standard one (or one allowed by ``OUTBOUND_ALLOWED_PORTS``);
* the name is resolved once, and *every* address it resolves to must be public (``address_refusal``),
  unless it lies in a network allowed by ``OUTBOUND_ALLOWED_NETWORKS``;
* the connection goes to the address that was checked, not to a second resolution of the name: the URL's
  host is replaced by that address while the ``Host`` header and TLS (server name and certificate check)
  keep the name, so a name that answers differently the second time reaches nothing new;
* redirects are followed here, each hop checked the same way, at most ``MAX_REDIRECTS`` of them;
* the body is read up to ``max_bytes`` (the declared length is checked first), and the whole exchange is
  bounded by ``OUTBOUND_TIMEOUT_SECONDS``.

A refused target raises ``OutboundRefused`` before any connection is opened, so its log line is the same
whether the port behind it is open, closed or filtered. Callers treat it as permanent: trying again would
be refused again.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

MAX_REDIRECTS = 5
_STANDARD_PORTS = {"http": 80, "https": 443}
_REDIRECTS = {301, 302, 303, 307, 308}

# Ranges ``is_global`` lets through in some Python versions, or that hide another address inside.
_NOT_PUBLIC = [
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT: cloud metadata services live here too
        "192.0.0.0/24",
        "198.18.0.0/15",
        "240.0.0.0/4",
        "::/96",  # IPv4-compatible IPv6
        "::ffff:0:0/96",  # IPv4-mapped IPv6
        "64:ff9b::/96",  # NAT64: the last 32 bits are an IPv4 address
        "64:ff9b:1::/48",
        "2001::/32",  # Teredo
        "2002::/16",  # 6to4
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
    )
]


# The host could not be reached, or not in time: worth another try. (httpx's own base class, named here
# so that callers need no HTTP library of their own.)
OutboundUnreachable = httpx.HTTPError


class OutboundRefused(Exception):
    """The target may not be fetched (scheme, port or address); refused before connecting, for good."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutboundTooLarge(Exception):
    """The answer is larger than the caller accepts; fetching it again would not make it smaller."""


@dataclass(frozen=True)
class Fetched:
    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str

    def json(self) -> object:
        return httpx.Response(self.status_code, headers=self.headers, content=self.content).json()


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public one the server may connect to, or ``None`` when it is."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        # Even a public one: these forms are transition mechanisms a server has no business calling.
        reason = address_refusal(embedded)
        return f"an IPv6 form of {embedded}" + (f", {reason}" if reason else "")
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    if any(address in network for network in _NOT_PUBLIC if network.version == address.version):
        return "a reserved address"
    return None


def _embedded_ipv4(address: IPAddress) -> IPAddress | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4, Teredo), if any."""
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:
        return low  # ::a.b.c.d (::1 and :: are themselves, checked as IPv6)
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return low
    return None


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(str(item), strict=False) for item in settings.OUTBOUND_ALLOWED_NETWORKS]


def _port_allowed(scheme: str, port: int) -> bool:
    if port == _STANDARD_PORTS[scheme]:
        return True
    for item in settings.OUTBOUND_ALLOWED_PORTS:
        low, _, high = str(item).partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def system_resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system's resolver, which also reads odd IPv4 spellings)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise httpx.ConnectError(f"cannot resolve {host}") from error
    return [str(info[4][0]).split("%", 1)[0] for info in found]


def checked_address(host: str, port: int, *, resolve: Resolver = system_resolve) -> IPAddress:
    """The address to connect to for ``host``: refused unless every address it resolves to may be used."""
    addresses = [ipaddress.ip_address(item) for item in resolve(host, port)]
    if not addresses:
        raise httpx.ConnectError(f"cannot resolve {host}")
    allowed = _allowed_networks()
    for address in addresses:
        if any(address in network for network in allowed if network.version == address.version):
            continue
        reason = address_refusal(address)
        if reason is not None:
            raise OutboundRefused(f"{host} is {reason}")
    return addresses[0]


def _target(url: httpx.URL, resolve: Resolver) -> tuple[httpx.URL, str, dict[str, str]]:
    """The URL with the checked address as host, the Host header, and the TLS server name."""
    if url.scheme not in _STANDARD_PORTS:
        raise OutboundRefused(f"the scheme {url.scheme or '(none)'!r} is not http or https")
    if url.userinfo:
        raise OutboundRefused("a URL with credentials")
    host = url.raw_host.decode("ascii").strip("[]")
    if not host:
        raise OutboundRefused("a URL without a host")
    port = url.port or _STANDARD_PORTS[url.scheme]
    if not _port_allowed(url.scheme, port):
        raise OutboundRefused(f"port {port} is not allowed")
    address = checked_address(host, port, resolve=resolve)
    host_header = url.netloc.decode("ascii")
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    return url.copy_with(host=str(address)), host_header, extensions


def outbound_request(
    method: str,
    url: str,
    *,
    max_bytes: int,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    follow_redirects: bool = True,
    resolve: Resolver = system_resolve,
) -> Fetched:
    """Send one request through the guard and read the answer (any status) up to ``max_bytes``.

    Raises ``OutboundRefused`` (permanent), ``OutboundTooLarge`` (permanent) or ``OutboundUnreachable``
    (the host could not be reached in time: worth another try).
    """
    budget = min(timeout or settings.OUTBOUND_TIMEOUT_SECONDS, settings.OUTBOUND_TIMEOUT_SECONDS)
    deadline = time.monotonic() + budget
    try:
        current = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise OutboundRefused(f"not a valid URL: {error}") from error
    # No proxies from the environment: a proxy would make the connection, unchecked, on our behalf.
    with httpx.Client(trust_env=False, follow_redirects=False) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            answer = _exchange(client, method, current, content, headers, max_bytes, deadline, resolve)
            location = answer.headers.get("Location")
            if not follow_redirects or answer.status_code not in _REDIRECTS or not location:
                return answer
            try:
                current = current.join(location)
            except httpx.InvalidURL as error:
                raise OutboundRefused(f"a redirect to an invalid URL: {error}") from error
            if answer.status_code == 303 or (answer.status_code in (301, 302) and method != "GET"):
                method, content = "GET", None
    raise OutboundRefused(f"more than {MAX_REDIRECTS} redirects")


def _exchange(
    client: httpx.Client,
    method: str,
    url: httpx.URL,
    content: bytes | None,
    headers: Mapping[str, str] | None,
    max_bytes: int,
    deadline: float,
    resolve: Resolver,
) -> Fetched:
    pinned, host_header, extensions = _target(url, resolve)
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpx.TimeoutException("out of time")
    request = client.build_request(
        method,
        pinned,
        content=content,
        headers={**(headers or {}), "Host": host_header},
        timeout=httpx.Timeout(left),
        extensions=extensions,
    )
    response = client.send(request, stream=True)
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise OutboundTooLarge(f"{declared} bytes, larger than {max_bytes}")
        body = _read(response.iter_bytes(), max_bytes, deadline)
    finally:
        response.close()
    return Fetched(status_code=response.status_code, headers=response.headers, content=body, url=str(url))


def _read(chunks: Iterable[bytes], max_bytes: int, deadline: float) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise OutboundTooLarge(f"larger than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("out of time")
        parts.append(chunk)
    return b"".join(parts)
