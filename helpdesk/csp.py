"""The site's Content-Security-Policy (django-csp), with the live socket's origin added per request."""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase


def socket_origin(request: HttpRequest) -> str | None:
    """``wss://host`` (``ws://`` over plain http) of the host this request was made to.

    ``'self'`` covers the same host's sockets only in browsers that implement CSP level 3; naming the
    origin serves the others. None for a host Django refuses, whose answer is an error page anyway.
    """
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origin = socket_origin(request)
        if origin is not None:
            update = dict(parts.update or {})
            update["connect-src"] = [*update.get("connect-src", []), origin]
            parts.update = update
        return parts
