"""The report figures, read from the roll-ups alone (tickets/models/reporting.py).

Counts come from the hour buckets (``ReportHour``; with a tag filter, from the activity rows of the
tagged tickets, which the buckets are the sums of); medians and percentiles from the tickets' fact
rows, with ``percentile_cont`` on PostgreSQL and the same interpolation in Python elsewhere. A ticket
counts under its current team, channel, assignee and tags. docs/reports.md defines every figure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.db import connections
from django.db.models import Aggregate, Count, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from tickets.models import ReportHour, Ticket, TicketActivity, TicketFact
from tickets.reports.filters import ReportFilter

COUNTS = ("created", "solved", "reopened", "messages_in", "replies_out")


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont``: the value at ``fraction`` of the ordered values, interpolated."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("a percentile's fraction lies between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """``percentile_cont`` in Python: linear interpolation between the two nearest ordered values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def report_summary(f: ReportFilter) -> dict[str, Any]:
    """Totals over the range: volume, messages, first response and resolution times, SLA compliance."""
    sums = _hours(f).aggregate(**{f"sum_{name}": Coalesce(Sum(name), 0) for name in COUNTS})
    return {
        **{name: sums[f"sum_{name}"] for name in COUNTS},
        **_timings(f),
        "sla": _sla(f),
        # Surveys are not sent yet: no score rather than a made-up zero.
        "csat": None,
        "nps": None,
    }


def report_volume(f: ReportFilter) -> list[dict[str, Any]]:
    """Per day: tickets created, solved and reopened, and the backlog (tickets open) at the day's end."""
    zone = f.time_zone
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for hour, created, solved, reopened in (
        _hours(f)
        .values("hour")
        .annotate(c=Sum("created"), s=Sum("solved"), r=Sum("reopened"))
        .order_by()
        .values_list("hour", "c", "s", "r")
    ):
        counts = per_day[hour.astimezone(zone).date()]
        counts[0] += created
        counts[1] += solved
        counts[2] += reopened
    before = (
        _scoped(_hour_rows(f), f)
        .filter(hour__lt=f.start)
        .aggregate(
            c=Coalesce(Sum("created"), 0), s=Coalesce(Sum("solved"), 0), r=Coalesce(Sum("reopened"), 0)
        )
    )
    backlog = before["c"] + before["r"] - before["s"]
    days = []
    for day in f.days():
        created, solved, reopened = per_day.get(day, (0, 0, 0))
        backlog += created + reopened - solved
        days.append(
            {
                "date": day.isoformat(),
                "created": created,
                "solved": solved,
                "reopened": reopened,
                "backlog": backlog,
            }
        )
    return days


def report_heatmap(f: ReportFilter) -> list[list[int]]:
    """Tickets created per weekday (Monday first) and hour of the day, in the desk's time zone."""
    grid = [[0] * 24 for _weekday in range(7)]
    rows = _hours(f).filter(created__gt=0).values("hour").annotate(n=Sum("created")).order_by()
    for hour, count in rows.values_list("hour", "n"):
        local = hour.astimezone(f.time_zone)
        grid[local.weekday()][local.hour] += count
    return grid


def report_agents(f: ReportFilter) -> list[dict[str, Any]]:
    """Per agent: tickets assigned to them created in the range, solved, their replies, and the medians
    of first response and resolution of the tickets assigned to them; ordered by name."""
    work = {
        row["agent_id"]: row
        for row in _hours(f)
        .filter(agent_id__isnull=False)
        .values("agent_id")
        .annotate(assigned=Sum("created"), solved=Sum("solved"), replies=Sum("replies_out"))
        .order_by()
        if row["assigned"] or row["solved"] or row["replies"]
    }
    medians = _agent_medians(f)
    first_response, resolution = medians["first_response"], medians["resolution"]
    agent_ids = set(work) | set(first_response) | set(resolution)
    names = {
        user.pk: user.get_full_name() or user.get_username() for user in User.objects.filter(pk__in=agent_ids)
    }
    rows = [
        {
            "agent_id": agent_id,
            "name": names.get(agent_id, f"#{agent_id}"),
            "assigned": work.get(agent_id, {}).get("assigned", 0),
            "solved": work.get(agent_id, {}).get("solved", 0),
            "replies": work.get(agent_id, {}).get("replies", 0),
            "first_response_median_seconds": first_response.get(agent_id),
            "resolution_median_seconds": resolution.get(agent_id),
        }
        for agent_id in agent_ids
    ]
    return sorted(rows, key=lambda row: (row["name"].casefold(), row["agent_id"]))


def facts_in_scope(f: ReportFilter) -> QuerySet[TicketFact]:
    """The fact rows of the tickets the filter's team, channel, agent and tag select (any time)."""
    facts = TicketFact.objects.all()
    if f.team_ids is not None:
        facts = facts.filter(team_id__in=f.team_ids)
    if f.channel_id is not None:
        facts = facts.filter(channel_id=f.channel_id)
    if f.agent_id is not None:
        facts = facts.filter(assignee_id=f.agent_id)
    if f.tag is not None:
        facts = facts.filter(ticket_id__in=_tagged(f.tag))
    return facts


def _hour_rows(f: ReportFilter) -> QuerySet[Any]:
    # A tag is a ticket's, and the buckets sum over tickets: with a tag, the tagged tickets' own rows.
    if f.tag is not None:
        return TicketActivity.objects.filter(ticket_id__in=_tagged(f.tag))
    return ReportHour.objects.all()


def _hours(f: ReportFilter) -> QuerySet[Any]:
    return _scoped(_hour_rows(f), f).filter(hour__gte=f.start, hour__lt=f.end)


def _scoped(rows: QuerySet[Any], f: ReportFilter) -> QuerySet[Any]:
    if f.team_ids is not None:
        rows = rows.filter(team_id__in=f.team_ids)
    if f.channel_id is not None:
        rows = rows.filter(channel_id=f.channel_id)
    if f.agent_id is not None:
        rows = rows.filter(agent_id=f.agent_id)
    return rows


def _tagged(tag: str) -> QuerySet[Any]:
    return Ticket.tags.through.objects.filter(tag__name=tag).values("ticket_id")


# Each timing: the moment that puts a ticket in the range, and the duration measured to it. First
# response: tickets first answered in the range. Resolution: tickets solved in the range and still
# solved (a merged one is closed, not resolved: its duration is null).
_TIMINGS = {
    "first_response": ("first_response_at", "first_response_seconds"),
    "resolution": ("solved_at", "resolution_seconds"),
}


def _in_range(f: ReportFilter, timing: str) -> Q:
    moment, seconds = _TIMINGS[timing]
    return Q(**{f"{moment}__gte": f.start, f"{moment}__lt": f.end, f"{seconds}__isnull": False})


def _timed(f: ReportFilter) -> QuerySet[TicketFact]:
    """The facts either timing reads: both are computed in one pass over them."""
    return facts_in_scope(f).filter(_in_range(f, "first_response") | _in_range(f, "resolution"))


def _timed_values(f: ReportFilter, facts: QuerySet[TicketFact]) -> Iterator[tuple[int | None, str, int]]:
    """``(assignee, timing, seconds)`` of each timing in the range, for the databases without
    ``percentile_cont``."""
    fields = [field for pair in _TIMINGS.values() for field in pair]
    for assignee_id, *values in facts.values_list("assignee_id", *fields):
        for index, timing in enumerate(_TIMINGS):
            moment, seconds = values[2 * index], values[2 * index + 1]
            if moment is not None and seconds is not None and f.start <= moment < f.end:
                yield assignee_id, timing, seconds


def _timings(f: ReportFilter) -> dict[str, dict[str, int | None]]:
    """Per timing: how many tickets, the median and the 90th percentile, in seconds."""
    facts = _timed(f)
    if _postgresql(facts):
        sums: dict[str, Any] = {}
        for timing, (_moment, field) in _TIMINGS.items():
            where = _in_range(f, timing)
            sums[f"{timing}_count"] = Count("pk", filter=where)
            sums[f"{timing}_median"] = Percentile(field, 0.5, filter=where)
            sums[f"{timing}_p90"] = Percentile(field, 0.9, filter=where)
        found = facts.aggregate(**sums)
        return {
            timing: {
                "count": found[f"{timing}_count"],
                "median_seconds": _whole(found[f"{timing}_median"]),
                "p90_seconds": _whole(found[f"{timing}_p90"]),
            }
            for timing in _TIMINGS
        }
    values: dict[str, list[int]] = {timing: [] for timing in _TIMINGS}
    for _assignee_id, timing, seconds in _timed_values(f, facts):
        values[timing].append(seconds)
    return {
        timing: {
            "count": len(found),
            "median_seconds": _whole(percentile(found, 0.5)),
            "p90_seconds": _whole(percentile(found, 0.9)),
        }
        for timing, found in values.items()
    }


def _agent_medians(f: ReportFilter) -> dict[str, dict[int, int | None]]:
    """Per timing, the median of each assignee who has one."""
    facts = _timed(f).filter(assignee_id__isnull=False)
    medians: dict[str, dict[int, int | None]] = {timing: {} for timing in _TIMINGS}
    if _postgresql(facts):
        rows = (
            facts.values("assignee_id")
            .annotate(
                **{
                    timing: Percentile(field, 0.5, filter=_in_range(f, timing))
                    for timing, (_moment, field) in _TIMINGS.items()
                }
            )
            .order_by()
            .values_list("assignee_id", *_TIMINGS)
        )
        for assignee_id, *found in rows:
            for timing, median in zip(_TIMINGS, found, strict=True):
                if median is not None:
                    medians[timing][assignee_id] = _whole(median)
        return medians
    values: dict[tuple[str, int], list[int]] = defaultdict(list)
    for assignee_id, timing, seconds in _timed_values(f, facts):
        if assignee_id is not None:
            values[(timing, assignee_id)].append(seconds)
    for (timing, assignee_id), found in values.items():
        medians[timing][assignee_id] = _whole(percentile(found, 0.5))
    return medians


def _sla(f: ReportFilter) -> dict[str, Any]:
    """Tickets under a policy that breached a target in the range, and those solved in the range
    without a breach; compliance is the share met of the two."""
    breached_in = Q(sla_breached_at__gte=f.start, sla_breached_at__lt=f.end)
    met_in = Q(
        sla_breached_at__isnull=True,
        solved_at__gte=f.start,
        solved_at__lt=f.end,
        resolution_seconds__isnull=False,
    )
    found = (
        facts_in_scope(f)
        .filter(sla_policy_id__isnull=False)
        .filter(breached_in | met_in)
        .aggregate(breached=Count("pk", filter=breached_in), met=Count("pk", filter=met_in))
    )
    settled = found["met"] + found["breached"]
    return {
        "met": found["met"],
        "breached": found["breached"],
        "compliance_percent": round(100 * found["met"] / settled, 1) if settled else None,
    }


def _whole(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds)


def _postgresql(rows: QuerySet[Any]) -> bool:
    return connections[rows.db].vendor == "postgresql"


__all__ = [
    "COUNTS",
    "Percentile",
    "facts_in_scope",
    "percentile",
    "report_agents",
    "report_heatmap",
    "report_summary",
    "report_volume",
]
