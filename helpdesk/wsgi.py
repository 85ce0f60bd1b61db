"""The WSGI application of the scaled mode's HTTP processes (``python -m helpdesk.web``).

Provider webhooks, under ``INBOUND_PREFIX``, are most of the requests and serve no person: they go to a
handler of their own whose middleware is ``WEBHOOK_MIDDLEWARE``. Sessions, authentication, CSRF,
languages and messages do nothing for a signed POST from a provider, yet were a large share of its CPU
(docs/performance.md). Everything else gets the full ``MIDDLEWARE``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

site = get_wsgi_application()

from django.conf import settings  # noqa: E402 - after set-up
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from helpdesk.urls import INBOUND_PREFIX  # noqa: E402


class WebhookHandler(WSGIHandler):
    """Django's handler with the webhook middleware: same URLs, views and signals."""

    def load_middleware(self, is_async: bool = False) -> None:
        # Django reads the list from settings; it is swapped only while this handler is built, once per
        # process, before any request is served.
        configured = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.WEBHOOK_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = configured


webhooks = WebhookHandler()
_webhook_path = "/" + INBOUND_PREFIX


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    handler = webhooks if environ.get("PATH_INFO", "").startswith(_webhook_path) else site
    return handler(environ, start_response)
