"""``manage.py reports_rebuild [--since YYYY-MM-DD]``: recompute the reports' roll-ups from the tickets,
their messages and the audit trail (docs/reports.md)."""

from __future__ import annotations

import re
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.reports.rollup import rollups_rebuild


def _day(value: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(value)
    return date.fromisoformat(value)


class Command(BaseCommand):
    help = "Recompute the reports' roll-ups (every ticket, or those created or changed since a day)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            type=_day,
            default=None,
            help="Only tickets created or changed from this day on (YYYY-MM-DD, the desk's time zone).",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=60.0,
            help="Seconds to wait for a running roll-up job to finish (default 60).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            outcome = rollups_rebuild(
                since=options["since"], wait_seconds=options["wait"], progress=self.stdout.write
            )
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Report roll-ups rebuilt: {outcome.tickets} tickets, {outcome.hours} hour buckets, "
                f"in {time.monotonic() - started:.1f}s."
            )
        )
