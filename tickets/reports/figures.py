"""The report figures, read from the roll-ups alone (tickets/models/reporting.py).

Counts come from the hour buckets (``ReportHour``; with a tag filter, from the activity rows of the
tagged tickets, which the buckets are the sums of); medians and percentiles from the tickets' fact
rows, with ``percentile_cont`` on PostgreSQL and the same interpolation in Python elsewhere. A ticket
counts under its current team, channel, assignee and tags. docs/reports.md defines every figure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
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
        "first_response": _timing(_first_responses(f), "first_response_seconds"),
        "resolution": _timing(_resolutions(f), "resolution_seconds"),
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
    first_response = _medians(_first_responses(f), "first_response_seconds")
    resolution = _medians(_resolutions(f), "resolution_seconds")
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


def _first_responses(f: ReportFilter) -> QuerySet[TicketFact]:
    """Tickets first answered in the range."""
    return facts_in_scope(f).filter(
        first_response_at__gte=f.start, first_response_at__lt=f.end, first_response_seconds__isnull=False
    )


def _resolutions(f: ReportFilter) -> QuerySet[TicketFact]:
    """Tickets solved in the range and still solved (a merged one is closed, not resolved)."""
    return facts_in_scope(f).filter(
        solved_at__gte=f.start, solved_at__lt=f.end, resolution_seconds__isnull=False
    )


def _timing(facts: QuerySet[TicketFact], field: str) -> dict[str, int | None]:
    if _postgresql(facts):
        found = facts.aggregate(count=Count("pk"), median=Percentile(field, 0.5), p90=Percentile(field, 0.9))
        median, p90 = found["median"], found["p90"]
        count = found["count"]
    else:
        values = list(facts.values_list(field, flat=True))
        count, median, p90 = len(values), percentile(values, 0.5), percentile(values, 0.9)
    return {"count": count, "median_seconds": _whole(median), "p90_seconds": _whole(p90)}


def _medians(facts: QuerySet[TicketFact], field: str) -> dict[int, int | None]:
    facts = facts.filter(assignee_id__isnull=False)
    if _postgresql(facts):
        rows = facts.values("assignee_id").annotate(median=Percentile(field, 0.5)).order_by()
        return {row["assignee_id"]: _whole(row["median"]) for row in rows if row["assignee_id"] is not None}
    values: dict[int, list[int]] = defaultdict(list)
    for agent_id, value in facts.values_list("assignee_id", field):
        values[agent_id].append(value)
    return {agent_id: _whole(percentile(found, 0.5)) for agent_id, found in values.items()}


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
