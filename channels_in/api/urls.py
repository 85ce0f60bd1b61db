from __future__ import annotations

from django.urls import path

from channels_in.api import views

urlpatterns = [path("<slug:channel_key>/messages", views.inbound_message, name="api-inbound-message")]
