"""Push-style mail pickup: one IMAP IDLE loop per mailbox, next to the beat's periodic poll.

python manage.py email_idle            # all active mailboxes with IMAP and ``idle`` on
python manage.py email_idle --once     # one wait-and-poll round (for checks and tests)
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection

from channels_in.email.imap import mailbox_idle
from channels_in.models import ChannelAccount

logger = logging.getLogger(__name__)


def _idle_loop(account_id: int, timeout: float, stop: threading.Event, once: bool) -> None:
    try:
        while not stop.is_set():
            result = mailbox_idle(account_id=account_id, timeout=timeout)
            if result.recorded:
                logger.info("mailbox %s: %s new mail(s)", account_id, result.recorded)
            if once:
                return
            if result.status == "error" or result.status == "skipped":
                # The poll recorded the error and its back-off on the mailbox; the beat retries too.
                stop.wait(timeout=min(timeout, 60))
    finally:
        connection.close()


class Command(BaseCommand):
    help = "Wait for new mail with IMAP IDLE on every mailbox that supports it, and file it at once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=300.0, help="seconds per IDLE round")
        parser.add_argument("--once", action="store_true", help="one round per mailbox, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = [
            pk
            for pk, config in ChannelAccount.objects.filter(
                kind=ChannelAccount.Kind.EMAIL, active=True
            ).values_list("pk", "config")
            if isinstance(config, dict)
            and isinstance(config.get("imap"), dict)
            and config["imap"].get("idle", True)
        ]
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_idle_loop,
                args=(pk, options["timeout"], stop, options["once"]),
                name=f"imap-idle-{pk}",
                daemon=True,
            )
            for pk in ids
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        except KeyboardInterrupt:
            stop.set()
        self.stdout.write(f"watched {len(ids)} mailbox(es)")
