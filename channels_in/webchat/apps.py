from __future__ import annotations

from django.apps import AppConfig


class WebchatConfig(AppConfig):
    """Installed so that the widget's templates and static files are found in this folder."""

    name = "channels_in.webchat"
    label = "webchat"
    verbose_name = "Web chat"
