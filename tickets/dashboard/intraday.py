"""The intraday chart's series: customer messages in and replies out per 15 minutes of a day, in the
desk's time zone, today against the same weekday one week before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.core.cache import cache
from django.db.models import Count, ExpressionWrapper, IntegerField
from django.db.models.functions import ExtractHour, ExtractMinute, Floor

from tickets.dashboard.figures import messages_between
from tickets.models import Message

BUCKET_MINUTES = 15
BUCKETS = 24 * 60 // BUCKET_MINUTES
# A past day's series is kept this long: only a ticket moving team changes it, and reading a day a week
# back scans every message since (their status may have moved on since they were sent).
PAST_DAY_SECONDS = 15 * 60


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The first moment of ``day`` in ``zone`` and of the day after (23 or 25 hours apart when the
    clocks change)."""
    return (
        datetime.combine(day, time.min, tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
    )


def local_slot(zone: tzinfo) -> ExpressionWrapper:
    """``bucket_of`` in SQL, of a message's ``created_at``: the database counts per slot, so at most 96
    rows per direction come back."""
    return ExpressionWrapper(
        ExtractHour("created_at", tzinfo=zone) * (60 // BUCKET_MINUTES)
        + Floor(ExtractMinute("created_at", tzinfo=zone) / BUCKET_MINUTES),
        output_field=IntegerField(),
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
        .annotate(slot=local_slot(zone))
        .values("slot", "direction")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in rows:
        index = int(row["slot"])
        if index >= slots:
            continue
        series = arrivals if row["direction"] == Message.Direction.INBOUND else answers
        series[index] += row["count"]
    return DaySeries(day=day, arrivals=arrivals, answers=answers)


def past_day_series(*, team_ids: list[int] | None, day: date, zone: tzinfo) -> DaySeries:
    """``day_series`` of a past day, from the cache when it was read in the last ``PAST_DAY_SECONDS``."""
    scope = "all" if team_ids is None else ",".join(str(pk) for pk in sorted(team_ids))
    key = f"dashboard:day:{day.isoformat()}:{zone}:{scope}"
    cached = cache.get(key)
    if isinstance(cached, DaySeries):
        return cached
    series = day_series(team_ids=team_ids, day=day, zone=zone)
    cache.set(key, series, PAST_DAY_SECONDS)
    return series


def intraday(*, team_ids: list[int] | None, now: datetime, zone: tzinfo) -> Intraday:
    """Today so far against the same weekday a week before. Two queries, one while the week-old day is
    cached."""
    today = now.astimezone(zone).date()
    return Intraday(
        bucket_minutes=BUCKET_MINUTES,
        today=day_series(team_ids=team_ids, day=today, zone=zone, slots=bucket_of(now, zone) + 1),
        last_week=past_day_series(team_ids=team_ids, day=today - timedelta(days=7), zone=zone),
    )
