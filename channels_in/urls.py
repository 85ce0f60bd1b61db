"""Every kind's webhooks, mounted from the registry under the inbound prefix (api/v1/inbound/)."""

from __future__ import annotations

from django.urls import include, path

from channels_in.registry import KINDS

urlpatterns = [path("", include(entry.webhooks)) for entry in KINDS if entry.webhooks]
