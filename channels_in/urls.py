from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("", include("channels_in.api.urls")), path("", include("channels_in.email.urls"))]
