from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from channels_in.webchat.consumers import WidgetConsumer
from tickets.consumers import AgentConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/agent/", AgentConsumer.as_asgi()),
    path("ws/widget/<slug:channel_key>/", WidgetConsumer.as_asgi()),
]
