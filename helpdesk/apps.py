from __future__ import annotations

from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    """The project's wiring as an app, for its entry points: ``manage.py serve``. No models."""

    name = "helpdesk"
    verbose_name = "Sportello"
