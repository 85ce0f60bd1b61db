"""From a number on the dashboard to the tickets behind it: inbox URLs, and the filters they carry.

Every queue figure links to an inbox view narrowed by query parameters that the inbox reads through
``drill_q``; a figure and its list are defined by the same conditions (``tickets.dashboard.figures``),
so the list holds exactly the tickets counted, as long as nothing changed in between.

| parameter | narrows to |
| --- | --- |
| `team` (repeatable) | a team's id, or `none` for tickets without a team |
| `assignee` | an agent's user id, or `none` for unassigned tickets |
| `channel=none` | tickets that did not begin on a channel (an id is the inbox's own filter) |
| `kind` (repeatable) | tickets that began on a channel of that kind (`webchat`, `email`…) |
| `sla` | `risk`: at SLA risk; `breached`: a target missed |
| `solved` | `today`: solved or closed since midnight in the desk's time zone |
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from datetime import datetime
from functools import reduce
from urllib.parse import urlencode

from django.db.models import Q
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from tickets.dashboard.figures import ACTIVE, OPEN, sla_at_risk_q, sla_breached_q, solved_between
from tickets.dashboard.intraday import day_bounds
from tickets.services.capacity import LIVE_CHAT_KINDS

DRILL_PARAMETERS = ("team", "assignee", "kind", "sla", "solved")
_KIND = re.compile(r"[a-z_]{1,20}")
Params = list[tuple[str, str]]

# The parameters each figure adds to its row's own.
FIGURE_PARAMS: dict[str, Params] = {
    "waiting": [("assignee", "none")],
    "open": [("status", status) for status in ACTIVE],
    "pending": [("status", "pending")],
    "on_hold": [("status", "on_hold")],
    "at_risk": [("sla", "risk")],
    "breached": [("sla", "breached")],
}
QUEUE_FIGURES = tuple(FIGURE_PARAMS)


class DrillInvalid(ValueError):
    """A dashboard filter parameter the inbox cannot read; the message says which and why."""


def _team_q(values: list[str]) -> Q:
    chosen = []
    for value in values:
        if value == "none":
            chosen.append(Q(team__isnull=True))
        elif value.isdigit():
            chosen.append(Q(team_id=int(value)))
        else:
            raise DrillInvalid(f"team: {value!r} is neither a team id nor 'none'.")
    return reduce(operator.or_, chosen)


def _one(params: QueryDict, name: str) -> str | None:
    values = [value.strip() for value in params.getlist(name) if value.strip()]
    if len(values) > 1:
        raise DrillInvalid(f"{name}: give it once.")
    return values[0] if values else None


def drill_q(params: QueryDict, *, now: datetime | None = None) -> Q:
    """The inbox narrowing the dashboard's links ask for (the table above); ``Q()`` when none is given.

    Raises ``DrillInvalid`` for a value that means nothing, so a mistyped link is told rather than
    shown a list that is not the one it asked for.
    """
    now = now or timezone.now()
    narrowing = Q()
    teams = [value.strip() for value in params.getlist("team") if value.strip()]
    if teams:
        narrowing &= _team_q(teams)
    assignee = _one(params, "assignee")
    if assignee == "none":
        narrowing &= Q(assignee__isnull=True)
    elif assignee is not None:
        if not assignee.isdigit():
            raise DrillInvalid(f"assignee: {assignee!r} is neither a user id nor 'none'.")
        narrowing &= Q(assignee_id=int(assignee))
    if "none" in params.getlist("channel"):
        narrowing &= Q(origin_channel__isnull=True)
    kinds = [value.strip() for value in params.getlist("kind") if value.strip()]
    if kinds:
        if not all(_KIND.fullmatch(kind) for kind in kinds):
            raise DrillInvalid("kind: a channel kind is lower-case letters, such as 'webchat'.")
        narrowing &= Q(origin_channel__kind__in=kinds)
    sla = _one(params, "sla")
    if sla == "risk":
        narrowing &= sla_at_risk_q(now=now)
    elif sla == "breached":
        narrowing &= sla_breached_q()
    elif sla is not None:
        raise DrillInvalid(f"sla: {sla!r} is not one of 'risk', 'breached'.")
    solved = _one(params, "solved")
    if solved == "today":
        start, end = day_bounds(
            now.astimezone(timezone.get_default_timezone()).date(), timezone.get_default_timezone()
        )
        narrowing &= solved_between(team_ids=None, start=start, end=end)
    elif solved is not None:
        raise DrillInvalid(f"solved: {solved!r} is not 'today'.")
    return narrowing


def drill_hidden(params: QueryDict) -> Params:
    """The dashboard parameters of a list, for the filter form to keep when another filter changes."""
    kept = [(name, value) for name in DRILL_PARAMETERS for value in params.getlist(name) if value.strip()]
    if "none" in params.getlist("channel"):
        kept.append(("channel", "none"))
    statuses = [value for value in params.getlist("status") if value.strip()]
    if len(statuses) > 1:
        kept += [("status", value) for value in statuses]
    return kept


class RowScope:
    """Where a row's numbers link: a team's view, every ticket, or the supervised teams as a search."""

    def __init__(self, *, team_ids: list[int] | None, team: int | str | None = "all") -> None:
        self.team_ids = team_ids
        self.team = team

    def _base(self, *, solved: bool) -> tuple[str, Params]:
        if solved:
            if isinstance(self.team, int):
                return reverse("inbox", args=["solved"]), [("team", str(self.team))]
            if self.team is None:
                return reverse("inbox", args=["solved"]), [("team", "none")]
            return reverse("inbox", args=["solved"]), [("team", str(pk)) for pk in self.team_ids or []]
        if isinstance(self.team, int):
            return reverse("inbox_team", args=[self.team]), []
        if self.team is None:
            return reverse("inbox", args=["all"]), [("team", "none")]
        if self.team_ids is None:
            return reverse("inbox", args=["all"]), []
        # A supervisor limited to some teams has no "all" view: a search over their teams is the same.
        return reverse("inbox", args=["search"]), [("team", str(pk)) for pk in self.team_ids]

    def url(self, extra: Params, *, solved: bool = False) -> str:
        path, params = self._base(solved=solved)
        if path.endswith("/search/") and not any(name == "status" for name, _value in extra):
            params += [("status", status) for status in OPEN]
        return f"{path}?{urlencode(params + extra)}"


def queue_links(scope: RowScope, *, channel: int | str | None = "all") -> dict[str, str]:
    """The list behind each figure of a row (a team, a channel or the total)."""
    narrowing: Params = []
    if isinstance(channel, int):
        narrowing.append(("channel", str(channel)))
    elif channel is None:
        narrowing.append(("channel", "none"))
    links = {figure: scope.url(narrowing + params) for figure, params in FIGURE_PARAMS.items()}
    links["solved_today"] = scope.url([*narrowing, ("solved", "today")], solved=True)
    return links


def agent_links(scope: RowScope, *, user_id: int) -> dict[str, str]:
    """The agent's open tickets, their live chats, and what they solved today."""
    mine: Params = [("assignee", str(user_id))]
    kinds: Sequence[tuple[str, str]] = [("kind", kind) for kind in LIVE_CHAT_KINDS]
    return {
        "open_tickets": scope.url(mine),
        "chats": scope.url([*mine, *kinds]),
        "solved_today": scope.url([*mine, ("solved", "today")], solved=True),
    }
