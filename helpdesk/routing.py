"""The ASGI router's websockets: the agent socket, and every channel kind's own (channels_in.registry)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from channels_in.registry import websocket_routes
from tickets.consumers import AgentConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/agent/", AgentConsumer.as_asgi()),
    *websocket_routes(),
]
