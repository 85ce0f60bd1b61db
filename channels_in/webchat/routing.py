"""The widget's websocket, mounted on the ASGI router from the channel registry."""

from __future__ import annotations

from django.urls import URLPattern, path

from channels_in.webchat.consumers import WidgetConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/widget/<slug:channel_key>/", WidgetConsumer.as_asgi()),
]
