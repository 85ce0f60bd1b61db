"""The supervisor's live dashboard (docs/supervisor.md): the page, its JSON snapshot and its panels.

Supervisors and admins only, through ``tickets.access.supervised_team_ids`` (a supervisor limited to some
teams sees those teams' figures): anyone else signed in gets 403, as from the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.utils import formats
from django.utils.translation import gettext, pgettext
from django.views.decorators.http import require_GET

from tickets.access import supervised_team_ids
from tickets.dashboard import Snapshot, dashboard_snapshot, snapshot_data
from tickets.dashboard.agents import AgentRow
from tickets.dashboard.figures import Figures
from tickets.dashboard.intraday import BUCKETS
from tickets.dashboard.links import RowScope, agent_links, queue_links
from tickets.dashboard.snapshot import Row
from tickets.models import AgentProfile
from tickets.sla_display import duration_words, sla_words

View = Callable[..., HttpResponseBase]
NOTHING = "—"


def supervisor_view(view: View) -> View:
    """Signed-in supervisors and admins; ``supervised_team_ids`` answers 403 for anyone else."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        supervised_team_ids(request.user)
        return view(request, *args, **kwargs)

    return login_required(wrapper)


@dataclass(frozen=True)
class ShownRow:
    """A row of a figures table: its numbers as first shown, and the list behind each."""

    key: str
    name: str
    figures: Figures
    shown: dict[str, str]
    links: dict[str, str]


@dataclass(frozen=True)
class ShownAgent:
    agent: AgentRow
    presence_label: str
    last_reply: str
    links: dict[str, str]


def _since(moment: datetime | None, now: datetime, words: dict[str, str]) -> str:
    return duration_words((now - moment).total_seconds(), words) if moment is not None else NOTHING


def _shown(figures: Figures, snapshot: Snapshot, words: dict[str, str]) -> dict[str, str]:
    average = figures.first_response_average_seconds
    hours = snapshot.hours_today
    return {
        "oldest_waiting": _since(figures.oldest_waiting_since, snapshot.now, words),
        "first_response": duration_words(average, words) if average is not None else NOTHING,
        "messages_in_per_hour": formats.number_format(figures.messages_in / hours, 1),
        "replies_out_per_hour": formats.number_format(figures.replies_out / hours, 1),
    }


def _row(
    row: Row, scope: RowScope, snapshot: Snapshot, words: dict[str, str], *, channel: Any = "all"
) -> ShownRow:
    shown = _shown(row.figures, snapshot, words)
    return ShownRow(row.key, row.name, row.figures, shown, queue_links(scope, channel=channel))


def _slots(snapshot: Snapshot) -> list[tuple[int, str, int | None, int | None, int, int]]:
    """The chart's numbers as table rows: the slot, its start, today's (none yet after now), last week's."""
    today, last_week = snapshot.intraday.today, snapshot.intraday.last_week
    minutes = snapshot.intraday.bucket_minutes
    slots = []
    for index in range(BUCKETS):
        happened = index < len(today.arrivals)
        slots.append(
            (
                index,
                f"{index * minutes // 60:02d}:{index * minutes % 60:02d}",
                today.arrivals[index] if happened else None,
                today.answers[index] if happened else None,
                last_week.arrivals[index],
                last_week.answers[index],
            )
        )
    return slots


def dashboard_context(snapshot: Snapshot) -> dict[str, Any]:
    words = sla_words()
    team_ids = snapshot.team_ids
    everything = RowScope(team_ids=team_ids)
    presence = dict(AgentProfile.Presence.choices)
    return {
        "snapshot": snapshot,
        "data": snapshot_data(snapshot),
        "total": _row(snapshot.total, everything, snapshot, words),
        "teams": [
            _row(row, RowScope(team_ids=team_ids, team=row.id), snapshot, words) for row in snapshot.teams
        ],
        "channels": [_row(row, everything, snapshot, words, channel=row.id) for row in snapshot.channels],
        "agents": [
            ShownAgent(
                agent,
                str(presence.get(agent.presence, agent.presence)),
                _since(agent.last_reply_at, snapshot.now, words),
                agent_links(everything, user_id=agent.user_id),
            )
            for agent in snapshot.agents
        ],
        "slots": _slots(snapshot),
        "dashboard_words": {
            "none": NOTHING,
            "presence": {key: str(label) for key, label in AgentProfile.Presence.choices},
            "arrivals": gettext("Messages in today"),
            "answers": gettext("Replies out today"),
            "arrivals_last_week": gettext("Messages in a week ago"),
            "answers_last_week": gettext("Replies out a week ago"),
            "time": pgettext("time of day", "Time"),
            "messages": gettext("Messages"),
        },
    }


@require_GET
@supervisor_view
def dashboard(request: HttpRequest) -> HttpResponse:
    """The page; ``?panels=1`` answers its tables alone (the page asks when teams or agents change)."""
    snapshot = dashboard_snapshot(user=request.user)
    context = dashboard_context(snapshot)
    if "panels" in request.GET:
        return render(request, "supervisor/_panels.html", context)
    return render(request, "supervisor/dashboard.html", context)


@require_GET
@supervisor_view
def dashboard_data(request: HttpRequest) -> JsonResponse:
    """The snapshot as JSON, fetched by the page on every relevant live event and after a reconnect."""
    response = JsonResponse(snapshot_data(dashboard_snapshot(user=request.user)))
    response["Cache-Control"] = "no-store"
    return response
