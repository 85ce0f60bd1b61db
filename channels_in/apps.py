from __future__ import annotations

from django.apps import AppConfig


class ChannelsInConfig(AppConfig):
    name = "channels_in"
    verbose_name = "Channels"

    def ready(self) -> None:
        # Connects the Anymail inbound receiver (ESP webhooks must find it before the first request)
        # and registers the mailbox polling tasks, which Celery's autodiscovery does not reach; the
        # checks warn of an ESP webhook enabled without its secret.
        from channels_in.email import checks, signals, tasks  # noqa: F401
        from channels_in.registry import channels_register

        channels_register()
