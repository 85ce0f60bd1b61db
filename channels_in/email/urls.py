from __future__ import annotations

from django.urls import path

from channels_in.email import views
from channels_in.email.esp import INBOUND_ESPS

urlpatterns = [
    path("email/<slug:channel_key>/raw", views.raw_message, name="email-inbound-raw"),
    # The inbound webhooks of the ESPs Anymail supports, at Anymail's own paths; each answers 404 until
    # it is enabled and authenticated (``esp.py``). The signal receiver in ``signals.py`` files the mail.
    *(
        path(
            f"email/anymail/{route}",
            views.esp_inbound,
            {"esp_name": esp.name},
            name="email-esp-" + route.strip("/").replace("/", "-"),
        )
        for esp in INBOUND_ESPS.values()
        for route in esp.routes
    ),
]
