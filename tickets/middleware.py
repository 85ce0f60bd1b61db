"""The agent's chosen interface language, applied after authentication (ARCHITECTURE §10)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from tickets.access import agent_profile


class UILanguageMiddleware:
    """Activate ``AgentProfile.ui_language`` when set.

    ``LocaleMiddleware`` runs before authentication, so it can only follow the cookie and the browser;
    an agent's saved preference must win over both, on every device they sign in from.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        profile = agent_profile(getattr(request, "user", None))
        language = profile.ui_language if profile is not None else ""
        if language in self.languages:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
