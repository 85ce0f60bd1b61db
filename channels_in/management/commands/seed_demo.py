"""``manage.py seed_demo``: load the demo help desk; running it again changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from channels_in.demo import demo_seed
from tickets import demo


class Command(BaseCommand):
    help = "Create the demo teams, agents, channels and tickets (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        summary = demo_seed()
        if summary.conversations_added:
            self.stdout.write(
                self.style.SUCCESS(f"Demo data loaded: {summary.conversations_added} conversations added.")
            )
        else:
            self.stdout.write(f"Demo data already present ({summary.conversations_present} conversations).")
        if summary.channel_parts:
            self.stdout.write(f"Channel demo parts: {', '.join(summary.channel_parts)}.")
        self.stdout.write(
            f"Sign in as {demo.SUPERVISOR_USERNAME} (supervisor) or "
            f"{', '.join(demo.AGENTS)} (agents), password {demo.DEMO_PASSWORD!r}."
        )
