"""The client's address, as far as it can be trusted: the peer's, or what our own proxies recorded.

``X-Forwarded-For`` is taken only when ``TRUSTED_PROXY_COUNT`` says how many proxies of ours stand in
front of the server; each appends the address it saw, so the client is the N-th entry from the right.
Anything to its left was written by the client itself and is ignored.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest


def client_address(*, peer: str, forwarded_for: str) -> str:
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if len(hops) >= count:
            try:
                return str(ipaddress.ip_address(hops[-count]))
            except ValueError:
                pass  # not an address our proxy would write: fall back on the peer
    return peer


def request_client_address(request: HttpRequest) -> str:
    return client_address(
        peer=request.META.get("REMOTE_ADDR", ""), forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", "")
    )


def scope_client_address(scope: dict[str, Any]) -> str:
    """The same for a websocket's ASGI scope."""
    forwarded = ",".join(
        value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"x-forwarded-for"
    )
    client = scope.get("client") or ("",)
    return client_address(peer=str(client[0] or ""), forwarded_for=forwarded)


def address_group(address: str) -> str:
    """What one budget counts as one client: an IPv4 address, or an IPv6 /64 (one site's network)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
