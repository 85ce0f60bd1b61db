"""Every kind's pages (what a browser calls, as the web-chat widget does), mounted from the registry."""

from __future__ import annotations

from django.urls import include, path

from channels_in.registry import KINDS

urlpatterns = [path(entry.pages[0], include(entry.pages[1])) for entry in KINDS if entry.pages]
