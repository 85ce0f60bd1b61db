"""The intraday chart's series: customer messages in and replies out per 15 minutes of a day, in the
desk's time zone, today against the same weekday one week before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import Count
from django.db.models.functions import TruncMinute

from tickets.dashboard.figures import messages_between
from tickets.models import Message

BUCKET_MINUTES = 15
BUCKETS = 24 * 60 // BUCKET_MINUTES


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The first moment of ``day`` in ``zone`` and of the day after (23 or 25 hours apart when the
    clocks change)."""
    return (
        datetime.combine(day, time.min, tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
    )


def bucket_of(moment: datetime, zone: tzinfo) -> int:
    """The 15-minute slot of the local day ``moment`` falls in (by the wall clock, so days of 23 and 25
    hours still have 96 slots and line up with other days)."""
    local = moment.astimezone(zone)
    return (local.hour * 60 + local.minute) // BUCKET_MINUTES


@dataclass(frozen=True)
class DaySeries:
    day: date
    arrivals: list[int]
    answers: list[int]


@dataclass(frozen=True)
class Intraday:
    bucket_minutes: int
    # Today's slots up to the one ``now`` is in; the rest of the day has not happened.
    today: DaySeries
    last_week: DaySeries


def day_series(*, team_ids: list[int] | None, day: date, zone: tzinfo, slots: int = BUCKETS) -> DaySeries:
    """``day``'s messages in and replies out per slot, its first ``slots`` slots. One query."""
    start, end = day_bounds(day, zone)
    arrivals, answers = [0] * slots, [0] * slots
    rows = (
        messages_between(team_ids=team_ids, start=start, end=end)
        .annotate(minute=TruncMinute("created_at", tzinfo=zone))
        .values("minute", "direction")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in rows:
        slot = bucket_of(row["minute"], zone)
        if slot >= slots:
            continue
        series = arrivals if row["direction"] == Message.Direction.INBOUND else answers
        series[slot] += row["count"]
    return DaySeries(day=day, arrivals=arrivals, answers=answers)


def intraday(*, team_ids: list[int] | None, now: datetime, zone: tzinfo) -> Intraday:
    """Today so far against the same weekday a week before. Two queries."""
    today = now.astimezone(zone).date()
    return Intraday(
        bucket_minutes=BUCKET_MINUTES,
        today=day_series(team_ids=team_ids, day=today, zone=zone, slots=bucket_of(now, zone) + 1),
        last_week=day_series(team_ids=team_ids, day=today - timedelta(days=7), zone=zone),
    )
