from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tickets.consumers import AgentConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/agent/", AgentConsumer.as_asgi()),
]
