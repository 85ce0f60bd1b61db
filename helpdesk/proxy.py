"""What the reverse proxies in front of Sportello say about a request, believed only as far as configured."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address: the connection's peer, or the one the nearest trusted proxy recorded.

    Each of the ``TRUSTED_PROXY_COUNT`` proxies appends the address it saw to ``X-Forwarded-For``, so the
    client's is that many entries from the right; whatever stands further left was sent by the client.
    A header too short, or not an address, means the request did not come through the proxies.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return peer
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < hops:
        return peer
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
