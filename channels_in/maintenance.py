"""The database, not the broker, is the record of pending work: re-queue the inbound events a dead
worker held or the broker lost (``tickets.services.maintenance`` does the same for outbound messages)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from channels_in.drain import drains_request
from channels_in.models import InboundEvent
from tickets.services.maintenance import BACKLOG_GRACE, SWEEP_BATCH, queue_backlog

logger = logging.getLogger(__name__)


def stale_events_requeue() -> int:
    """Queue again the pending events nobody is filing; returns how many.

    With a Redis broker a drain per slot is requested (it files whatever is pending), otherwise a
    task per event.
    """
    from channels_in import tasks

    now = timezone.now()
    stale = timedelta(seconds=settings.STALE_WORK_SECONDS)
    unclaimed_cutoff = now - (stale if queue_backlog("ingest") == 0 else BACKLOG_GRACE)
    event_ids = list(
        InboundEvent.objects.filter(state=InboundEvent.State.PENDING)
        .filter(Q(claimed_at__lt=now - stale) | Q(claimed_at__isnull=True, enqueued_at__lt=unclaimed_cutoff))
        .order_by("enqueued_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    if not event_ids:
        return 0
    InboundEvent.objects.filter(pk__in=event_ids).update(claimed_at=None, enqueued_at=now)
    if not drains_request():
        for event_id in event_ids:
            tasks.ingest_event.delay(event_id)
    logger.warning("re-queued %d inbound events", len(event_ids))
    return len(event_ids)
