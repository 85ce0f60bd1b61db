"""The database, not the broker, is the record of pending work: re-queue what a dead worker held.

This sweep re-queues outbound messages; ``channels_in.maintenance`` does the same for inbound events,
with ``queue_backlog`` and ``BACKLOG_GRACE`` from here.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.utils import timezone

from tickets.models import Message
from tickets.services.messages import backoff_seconds

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
# Unclaimed work may simply be waiting behind a backlog; only this much older means it was lost.
BACKLOG_GRACE = timedelta(minutes=5)


def queue_backlog(queue: str) -> int:
    """Tasks waiting in one of the broker's queues (0 when it cannot tell, e.g. in embedded mode)."""
    if settings.EMBEDDED:
        return 0
    try:
        with current_app.connection_for_write() as connection:
            return int(connection.default_channel.client.llen(queue))
    except Exception:
        logger.warning("could not read the length of the %s queue", queue, exc_info=True)
        return 0


def stale_messages_requeue() -> int:
    """Queue again the replies a dead worker held or the broker lost; returns how many."""
    from tickets import tasks

    now = timezone.now()
    stale = timedelta(seconds=settings.STALE_WORK_SECONDS)
    requeued = 0
    # A queued message behind a backlog is probably waiting its turn, as an unclaimed event is.
    queued_wait = stale if queue_backlog("outbound") == 0 else BACKLOG_GRACE
    candidates = (
        Message.objects.filter(
            status__in=[Message.Status.QUEUED, Message.Status.SENDING], status_changed_at__lt=now - stale
        )
        .order_by("status_changed_at")
        .values_list("pk", "status", "attempts", "status_changed_at")[:SWEEP_BATCH]
    )
    for message_id, status, attempts, changed_at in candidates:
        wait = stale if status == Message.Status.SENDING else queued_wait
        due = changed_at + wait + timedelta(seconds=backoff_seconds(attempts) if attempts else 0)
        if due > now:
            continue
        if status == Message.Status.SENDING:
            Message.objects.filter(pk=message_id, status=status, status_changed_at=changed_at).update(
                status=Message.Status.QUEUED, status_changed_at=now
            )
        else:
            Message.objects.filter(pk=message_id, status=status).update(status_changed_at=now)
        tasks.deliver_message.delay(message_id)
        requeued += 1
    if requeued:
        logger.warning("re-queued %d outbound messages", requeued)
    return requeued
