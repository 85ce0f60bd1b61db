"""Origins, headers and the embed snippet, shared by the widget's views and its socket."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static

from channels_in.models import ChannelAccount
from channels_in.webchat.schemas import SELF, WebchatConfig, origin_normalize


def own_origin(request: HttpRequest) -> str:
    return origin_normalize(f"{request.scheme}://{request.get_host()}")


def origin_allowed(config: WebchatConfig, origin: str, *, own_origin: str) -> bool:
    """``origin`` may embed the widget: listed by the channel, or the help desk itself if 'self' is."""
    origin = origin_normalize(origin)
    if not origin or origin == SELF:
        return False
    if origin in config.allowed_origins:
        return True
    return SELF in config.allowed_origins and origin == origin_normalize(own_origin)


def frame_ancestors(config: WebchatConfig) -> str:
    return " ".join(config.allowed_origins) or "'none'"


def frame_headers(response: HttpResponse, config: WebchatConfig, *, own_origin: str) -> HttpResponse:
    """The iframe may be framed by the channel's sites only, and runs only our own scripts."""
    socket_origin = own_origin.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    response["Content-Security-Policy"] = "; ".join(
        [
            f"frame-ancestors {frame_ancestors(config)}",
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            f"connect-src 'self' {socket_origin}",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def cors(response: HttpResponse, origin: str) -> HttpResponse:
    if origin:
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def embed_snippet(account: ChannelAccount, *, base_url: str = "") -> str:
    """The one tag a site adds to its pages."""
    base = (base_url or settings.PUBLIC_URL).rstrip("/")
    return f'<script async src="{base}{static("widget/widget.js")}" data-channel="{account.key}"></script>'
