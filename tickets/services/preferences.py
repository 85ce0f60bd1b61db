"""An agent's own settings for the workspace."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from tickets.models import AgentProfile


def agent_ui_language_set(*, profile: AgentProfile, language: str) -> AgentProfile:
    """Store the interface language; an empty string means "follow the browser"."""
    if language and language not in {code for code, _name in settings.LANGUAGES}:
        raise ValidationError(f"Unsupported language {language!r}.")
    if profile.ui_language != language:
        profile.ui_language = language
        profile.save(update_fields=["ui_language"])
    return profile
