from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tickets.api import live as live_api

# Provider webhooks; helpdesk.wsgi serves them with the lighter WEBHOOK_MIDDLEWARE.
INBOUND_PREFIX = "api/v1/inbound/"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Live catch-up feeds, before the API include so its patterns cannot shadow them.
    path("api/v1/tickets/<int:ticket_id>/events", live_api.TicketEventsView.as_view(), name="ticket-events"),
    path("api/v1/live/feed", live_api.AgentFeedView.as_view(), name="live-feed"),
    # Webhooks first: they are most of the requests, and the API's many patterns would be tried before.
    path(INBOUND_PREFIX, include("channels_in.urls")),
    path("api/v1/", include("tickets.api.urls")),
    # Channels' pages (the web-chat widget's at widget/), from the channel registry.
    path("", include("channels_in.site_urls")),
    path("", include("tickets.views.urls")),
]
# JSON for the API's addresses that match no route; Django's pages elsewhere.
handler400 = "helpdesk.errors.bad_request"
handler404 = "helpdesk.errors.page_not_found"
if settings.EMBEDDED or settings.DEBUG:
    from channels_in.api.demo import integrator_reply

    # The demo API channel's stand-in integrator, so demo replies are really delivered somewhere.
    urlpatterns.insert(0, path("demo/integrator/replies", integrator_reply, name="demo-integrator"))
