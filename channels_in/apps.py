from __future__ import annotations

from django.apps import AppConfig


class ChannelsInConfig(AppConfig):
    name = "channels_in"
    verbose_name = "Channels"

    def ready(self) -> None:
        # Every kind is listed once, in the registry: its adapters fill the port of ``tickets``, its
        # start-up modules are imported, and its periodic jobs join the beat schedule, which beat reads
        # only once Django is set up (Celery's Django fix-up runs ``django.setup()`` first).
        from celery import current_app
        from django.conf import settings

        from channels_in.registry import beat_schedule, channels_register

        channels_register()
        current_app.conf.beat_schedule = {
            **current_app.conf.beat_schedule,
            **beat_schedule(lambda name: getattr(settings, name)),
        }
