"""The SLA timers: each tick arms exact timers for the alarms falling due before the next one.

A tick (``tickets.tasks.sla_tick``, every ``SLA_TICK_SECONDS``) reads the due alarms from the
``sla_alarm_at`` index and sends them to ``sla_fire`` in groups, one task per short slice of time, with
the slice's end as its ETA: an alarm fires a few milliseconds after its due time, and a burst of alarms
costs a task per slice, not per ticket.

Each alarm sent is *claimed* in the cache for ``SLA_RESEND_SECONDS``, so the ticks that follow while it
is queued or being fired do not send it again (a backlog would otherwise be sent once a second, and
grow). The index stays the record: an alarm whose task was lost with a worker or a restarted broker is
still there, due, and is sent again once its claim lapses. A timer that goes off a moment early waits for
its alarms; one far too early (clocks of two machines differ) gives its claim back to the next tick.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from tickets.services.sla import sla_alarms_due, sla_alarms_fire

# Alarms falling due within one slice share a task, fired at the slice's end.
SLICE_SECONDS = 0.05
# A timer that goes off at most this early waits for its alarms instead of giving them back.
EARLY_WAIT_SECONDS = 1.0
Alarm = tuple[int, str]  # ticket id, alarm time (ISO), as tasks carry them


def sla_alarms_arm(*, now: datetime | None = None) -> list[tuple[datetime, list[Alarm]]]:
    """The alarms due before the next tick, not already sent, grouped by the moment to fire them."""
    now = now or timezone.now()
    due = sla_alarms_due(
        until=now + timedelta(seconds=settings.SLA_TICK_SECONDS), limit=settings.SLA_TICK_LIMIT
    )
    slices: dict[datetime, list[Alarm]] = defaultdict(list)
    for ticket_id, at in due:
        if not cache.add(_claim_key(ticket_id, at), 1, timeout=settings.SLA_RESEND_SECONDS):
            continue
        slices[_slice_end(max(at, now))].append((ticket_id, at.isoformat()))
    return sorted(slices.items())


def sla_alarms_fire_many(alarms: list[Alarm]) -> int:
    """Fire each alarm; one not yet due (an early timer) is given back to the next tick. Returns the
    number of alarms recorded."""
    fired = 0
    for ticket_id, at in alarms:
        moment = datetime.fromisoformat(at)
        early = (moment - timezone.now()).total_seconds()
        if 0 < early <= EARLY_WAIT_SECONDS:
            # A timer may go off a little before its ETA; waiting here costs less than a lost round.
            time.sleep(early)
        recorded = sla_alarms_fire(ticket_id=ticket_id)
        fired += len(recorded)
        if not recorded and moment > timezone.now():
            cache.delete(_claim_key(ticket_id, moment))
    return fired


def _claim_key(ticket_id: int, at: datetime) -> str:
    return f"sla-alarm:{ticket_id}:{at.timestamp():.6f}"


def _slice_end(moment: datetime) -> datetime:
    # Rounded up, never down: a timer must not fire before the alarms it carries are due.
    stamp = math.ceil(moment.timestamp() / SLICE_SECONDS) * SLICE_SECONDS
    return datetime.fromtimestamp(stamp, tz=UTC)
