"""The database, not the broker, is the record of pending work: re-queue what a dead worker held."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from channels_in.drain import drains_request
from channels_in.models import InboundEvent
from tickets.models import Message
from tickets.services.messages import backoff_seconds

logger = logging.getLogger(__name__)

_BATCH = 500
# An unclaimed event may simply be waiting behind a backlog; only this much older means it was lost.
_BACKLOG_GRACE = timedelta(minutes=5)


def _backlog(queue: str) -> int:
    """Tasks waiting in one of the broker's queues (0 when it cannot tell, e.g. in embedded mode)."""
    if settings.EMBEDDED:
        return 0
    from helpdesk.celery import app

    try:
        with app.connection_for_write() as connection:
            return int(connection.default_channel.client.llen(queue))
    except Exception:
        logger.warning("could not read the length of the %s queue", queue, exc_info=True)
        return 0


def stale_work_requeue() -> dict[str, int]:
    from channels_in import tasks as channel_tasks
    from tickets import tasks

    now = timezone.now()
    stale = timedelta(seconds=settings.STALE_WORK_SECONDS)
    unclaimed_cutoff = now - (stale if _backlog("ingest") == 0 else _BACKLOG_GRACE)
    event_ids = list(
        InboundEvent.objects.filter(state=InboundEvent.State.PENDING)
        .filter(Q(claimed_at__lt=now - stale) | Q(claimed_at__isnull=True, enqueued_at__lt=unclaimed_cutoff))
        .order_by("enqueued_at")
        .values_list("pk", flat=True)[:_BATCH]
    )
    if event_ids:
        InboundEvent.objects.filter(pk__in=event_ids).update(claimed_at=None, enqueued_at=now)
        if not drains_request():
            for event_id in event_ids:
                channel_tasks.ingest_event.delay(event_id)

    requeued_messages = 0
    # A queued message behind a backlog is probably waiting its turn, as an unclaimed event is.
    queued_wait = stale if _backlog("outbound") == 0 else _BACKLOG_GRACE
    candidates = (
        Message.objects.filter(
            status__in=[Message.Status.QUEUED, Message.Status.SENDING], status_changed_at__lt=now - stale
        )
        .order_by("status_changed_at")
        .values_list("pk", "status", "attempts", "status_changed_at")[:_BATCH]
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
        requeued_messages += 1
    if event_ids or requeued_messages:
        logger.warning(
            "re-queued %d inbound events and %d outbound messages", len(event_ids), requeued_messages
        )
    return {"events": len(event_ids), "messages": requeued_messages}
