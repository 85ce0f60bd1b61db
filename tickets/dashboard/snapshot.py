"""The dashboard's snapshot: every figure of the page and the API at one moment, for one supervisor.

``dashboard_snapshot`` is the one entry point; ``snapshot_data`` is its JSON shape, shared by the page's
``/supervisor/data/`` and ``GET /api/v1/dashboard``. A fixed number of queries, whatever the number of
tickets, teams or agents (``tickets/tests/test_dashboard.py`` counts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from tickets.access import supervised_team_ids
from tickets.channel_port import channel_account_model
from tickets.dashboard import figures as counted
from tickets.dashboard.agents import AgentRow, agents_panel
from tickets.dashboard.figures import Breakdown, Figures, Key
from tickets.dashboard.intraday import DaySeries, Intraday, day_bounds, intraday
from tickets.models import Team


@dataclass(frozen=True)
class Row:
    """A team, a channel, or the total, with its figures."""

    key: str
    id: int | None
    name: str
    kind: str
    figures: Figures


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    time_zone: str
    day_start: datetime
    day_end: datetime
    # When a figure next changes by time alone (a ticket enters the hour before its due time, or the day
    # ends): the page fetches again then, as no event will say so.
    next_change_at: datetime
    # ``None``: every team; else the teams of a supervisor limited to them.
    team_ids: list[int] | None
    total: Row
    teams: list[Row]
    channels: list[Row]
    agents: list[AgentRow]
    intraday: Intraday

    @property
    def hours_today(self) -> float:
        """Hours since midnight, at least one: what "per hour" divides by."""
        return max((self.now - self.day_start).total_seconds() / 3600, 1.0)

    @property
    def layout(self) -> str:
        """Which rows the page shows; a page whose rows differ fetches them again."""
        rows = [row.key for row in (*self.teams, *self.channels)]
        return " ".join([*rows, *(f"agent.{agent.user_id}" for agent in self.agents)])


def _rows(
    kind: str, listed: list[tuple[int, str, str]], found: dict[Key, Figures], *, none_name: str
) -> list[Row]:
    """The listed teams or channels, then any other with figures, then "none" if it has any."""
    rows = [Row(f"{kind}.{pk}", pk, name, sub, found.get(pk) or Figures()) for pk, name, sub in listed]
    shown = {pk for pk, _name, _sub in listed}
    for pk, figures in found.items():
        if pk is not None and pk not in shown and not figures.is_empty():
            rows.append(Row(f"{kind}.{pk}", pk, f"#{pk}", "", figures))
    none = found.get(None)
    if none is not None and not none.is_empty():
        rows.append(Row(f"{kind}.none", None, none_name, "", none))
    return rows


def dashboard_snapshot(*, user: Any, now: datetime | None = None) -> Snapshot:
    """Every figure of the dashboard for ``user``; ``PermissionDenied`` unless they supervise."""
    team_ids = supervised_team_ids(user)
    now = now or timezone.now()
    zone = timezone.get_default_timezone()
    start, end = day_bounds(now.astimezone(zone).date(), zone)
    teams = Team.objects.order_by("name", "id").values_list("id", "name", "channel_weights")
    if team_ids is not None:
        teams = teams.filter(pk__in=team_ids)
    team_list = list(teams)
    channels = list(
        channel_account_model()
        ._default_manager.order_by("name", "id")
        .values_list("id", "name", "kind", "active")
    )

    breakdown = Breakdown()
    open_tickets = counted.open_tickets_count(breakdown, team_ids=team_ids, now=now)
    replies = counted.messages_count(breakdown, team_ids=team_ids, start=start, end=end)
    counted.first_responses_count(breakdown, team_ids=team_ids, start=start, end=end)
    solved = counted.solved_count(breakdown, team_ids=team_ids, start=start, end=end)
    agents = agents_panel(
        team_ids=team_ids,
        queue=open_tickets.groups,
        replies=replies,
        solved=solved,
        team_weights={pk: weights for pk, _name, weights in team_list},
        channel_kinds={pk: kind for pk, _name, kind, _active in channels},
    )
    return Snapshot(
        now=now,
        time_zone=str(zone),
        day_start=start,
        day_end=end,
        next_change_at=min(open_tickets.next_due_change or end, end),
        team_ids=team_ids,
        total=Row("total", None, gettext("Total"), "", breakdown.total),
        teams=_rows(
            "team",
            [(pk, name, "") for pk, name, _weights in team_list],
            breakdown.teams,
            none_name=gettext("No team"),
        ),
        channels=_rows(
            "channel",
            [(pk, name, kind) for pk, name, kind, active in channels if active],
            breakdown.channels,
            none_name=gettext("No channel"),
        ),
        agents=agents,
        intraday=intraday(team_ids=team_ids, now=now, zone=zone),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def figures_data(figures: Figures, *, hours: float) -> dict[str, Any]:
    return {
        "waiting": figures.waiting,
        "oldest_waiting_since": _iso(figures.oldest_waiting_since),
        "open": figures.open,
        "pending": figures.pending,
        "on_hold": figures.on_hold,
        "at_risk": figures.at_risk,
        "breached": figures.breached,
        "first_responses": figures.first_responses,
        "first_response_average_seconds": figures.first_response_average_seconds,
        "messages_in": figures.messages_in,
        "replies_out": figures.replies_out,
        "messages_in_per_hour": round(figures.messages_in / hours, 2),
        "replies_out_per_hour": round(figures.replies_out / hours, 2),
        "solved_today": figures.solved_today,
    }


def _row_data(row: Row, *, hours: float) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, **figures_data(row.figures, hours=hours)}


def _series_data(series: DaySeries) -> dict[str, Any]:
    return {"date": series.day.isoformat(), "arrivals": series.arrivals, "answers": series.answers}


def agent_data(agent: AgentRow) -> dict[str, Any]:
    return {
        "id": agent.user_id,
        "name": agent.name,
        "presence": agent.presence,
        "presence_since": _iso(agent.presence_since),
        "capacity": agent.capacity,
        "load": agent.load,
        "open_tickets": agent.open_tickets,
        "chats": agent.chats,
        "last_reply_at": _iso(agent.last_reply_at),
        "replies_today": agent.replies_today,
        "solved_today": agent.solved_today,
    }


def snapshot_data(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot as JSON-ready data: what ``/supervisor/data/`` and the API answer."""
    hours = snapshot.hours_today
    return {
        "now": snapshot.now.isoformat(),
        "time_zone": snapshot.time_zone,
        "day_start": snapshot.day_start.isoformat(),
        "day_end": snapshot.day_end.isoformat(),
        "next_change_at": snapshot.next_change_at.isoformat(),
        "all_teams": snapshot.team_ids is None,
        "team_ids": snapshot.team_ids,
        "layout": snapshot.layout,
        "total": figures_data(snapshot.total.figures, hours=hours),
        "teams": [_row_data(row, hours=hours) for row in snapshot.teams],
        "channels": [{**_row_data(row, hours=hours), "kind": row.kind} for row in snapshot.channels],
        "agents": [agent_data(agent) for agent in snapshot.agents],
        "intraday": {
            "bucket_minutes": snapshot.intraday.bucket_minutes,
            "today": _series_data(snapshot.intraday.today),
            "last_week": _series_data(snapshot.intraday.last_week),
        },
    }
