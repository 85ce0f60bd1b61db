"""The inbox: named views of the ticket queue, with counts, filters, search and keyset pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tickets.access import visible_tickets_q
from tickets.channel_port import channel_account_model
from tickets.dashboard.links import DrillInvalid, drill_hidden, drill_q
from tickets.models import AgentProfile, Tag, Team, Ticket
from tickets.selectors import TicketFilters, breaching_soon_q, ticket_list
from tickets.views.common import agent_required, int_or_none, profile_of
from tickets.views.inbox_pages import Order, ticket_page
from tickets.views.rows import ROW_FIELDS, ticket_rows

# Closed tickets only grow; counting them all on every page load would cost a scan of the whole history.
COUNT_CAP = 1000
OPEN: list[str] = list(Ticket.OPEN_STATUSES)
CLOSED: list[str] = [Ticket.Status.SOLVED, Ticket.Status.CLOSED]


@dataclass(frozen=True)
class InboxView:
    key: str
    label: str
    url: str
    count: int
    statuses: list[str]
    # True when ``count`` stopped at COUNT_CAP: shown as "1000+".
    capped: bool = False


def _teams_of(profile: AgentProfile) -> tuple[list[Team], list[int]]:
    """The teams listed as views, and the agent's own teams ("Unassigned" is about those)."""
    own = list(profile.teams.order_by("name", "id"))
    if profile.sees_all_teams:
        return list(Team.objects.order_by("name", "id")), [team.pk for team in own]
    return own, [team.pk for team in own]


def _view_q(key: str, *, user: Any, team_ids: list[int], team_id: int | None = None) -> Q:
    """Which tickets a named view holds, on top of the visibility rule."""
    if key == "mine":
        return Q(assignee_id=user.pk, status__in=OPEN)
    if key == "unassigned":
        return Q(assignee__isnull=True, team_id__in=team_ids, status__in=OPEN)
    if key == "team":
        return Q(team_id=team_id, status__in=OPEN)
    if key == "all":
        return Q(status__in=OPEN)
    if key == "breaching":
        return breaching_soon_q(now=timezone.now())
    if key == "waiting":
        return Q(status=Ticket.Status.PENDING)
    if key == "solved":
        return Q(status__in=CLOSED)
    if key == "search":
        return Q()
    raise Http404("No such view.")


def _statuses_of(key: str) -> list[str]:
    statuses: dict[str, list[str]] = {
        "waiting": [Ticket.Status.PENDING],
        "solved": CLOSED,
        "search": OPEN + CLOSED,
    }
    return statuses.get(key, OPEN)


def inbox_views(
    *, user: Any, profile: AgentProfile, teams: list[Team], team_ids: list[int]
) -> list[InboxView]:
    """Every view this agent has, each with its count, from one aggregate query."""
    named: list[tuple[str, str, str, int | None]] = [
        ("mine", str(_("Mine")), reverse("inbox", args=["mine"]), None),
        ("unassigned", str(_("Unassigned")), reverse("inbox", args=["unassigned"]), None),
        ("breaching", str(_("Breaching soon")), reverse("inbox", args=["breaching"]), None),
    ]
    named += [
        (f"team-{team.pk}", team.name, reverse("inbox_team", args=[team.pk]), team.pk) for team in teams
    ]
    if profile.sees_all_teams:
        named.append(("all", str(_("All")), reverse("inbox", args=["all"]), None))
    named += [
        ("waiting", str(_("Waiting on customer")), reverse("inbox", args=["waiting"]), None),
        ("solved", str(pgettext_lazy("inbox view", "Solved")), reverse("inbox", args=["solved"]), None),
    ]
    # Every view but "solved" holds open tickets only: one aggregate over the open ones counts them all.
    aggregates = {
        key.replace("-", "_"): Count(
            "pk",
            filter=_view_q("team" if team_id else key, user=user, team_ids=team_ids, team_id=team_id),
        )
        for key, _label, _url, team_id in named
        if key != "solved"
    }
    visible = Ticket.objects.filter(visible_tickets_q(user))
    counts = visible.filter(status__in=OPEN).aggregate(**aggregates)
    counts["solved"] = visible.filter(status__in=CLOSED).order_by()[:COUNT_CAP].count()
    return [
        InboxView(
            key=key,
            label=label,
            url=url,
            count=counts[key.replace("-", "_")],
            statuses=_statuses_of("team" if team_id else key),
            capped=key == "solved" and counts["solved"] >= COUNT_CAP,
        )
        for key, label, url, team_id in named
    ]


def _filters_from(request: HttpRequest) -> dict[str, Any]:
    return {
        "channel": int_or_none(request.GET.get("channel")),
        "priority": int_or_none(request.GET.get("priority")),
        "tag": request.GET.get("tag", "").strip() or None,
        "status": request.GET.get("status", "").strip() or None,
        "q": request.GET.get("q", "").strip() or None,
        "sort": "due" if request.GET.get("sort") == "due" else "",
    }


@agent_required
def home(request: HttpRequest) -> HttpResponse:
    # Supervisors and admins start from their dashboard; agents from their own tickets.
    if profile_of(request).supervises:
        return redirect("supervisor_dashboard")
    return redirect("inbox", view="mine")


_NAMED_VIEWS = {"mine", "unassigned", "breaching", "all", "waiting", "solved", "search"}


@agent_required
def inbox(request: HttpRequest, view: str = "mine", team_id: int | None = None) -> HttpResponse:
    user = request.user
    profile = profile_of(request)
    teams, team_ids = _teams_of(profile)
    if team_id is None and view not in _NAMED_VIEWS:
        raise Http404("No such view.")
    if view == "all" and not profile.sees_all_teams:
        raise Http404("Supervisors only.")
    if team_id is not None and team_id not in {team.pk for team in teams}:
        raise Http404("Not one of your teams.")
    kind = "team" if team_id is not None else view
    chosen = _filters_from(request)
    statuses = _statuses_of(kind)
    # Several statuses come from the dashboard's links ("open" is new and open); the form sends one.
    wanted = [value.strip() for value in request.GET.getlist("status") if value.strip()]
    if wanted:
        statuses = [status for status in statuses if status in wanted] or ["-none-"]
    try:
        # The dashboard's figures link here with their own narrowing (team, assignee, SLA, solved today).
        drill = drill_q(request.GET)
    except DrillInvalid as invalid:
        return HttpResponseBadRequest(str(invalid), content_type="text/plain; charset=utf-8")
    tickets = ticket_list(
        user=user,
        filters=TicketFilters(
            statuses=statuses,
            channel_id=chosen["channel"],
            priority=chosen["priority"],
            tag=chosen["tag"],
            q=chosen["q"],
        ),
    ).filter(_view_q(kind, user=user, team_ids=team_ids, team_id=team_id), drill)
    row_id = int_or_none(request.GET.get("row"))
    if row_id is not None:
        # A live event named this ticket: its row if it belongs in this view as filtered, else nothing.
        ticket = tickets.filter(pk=row_id).prefetch_related(None).only(*ROW_FIELDS).first()
        if ticket is None:
            return HttpResponse(status=204)
        return HttpResponse(ticket_rows([ticket])[0])
    views = inbox_views(user=user, profile=profile, teams=teams, team_ids=team_ids)
    key = f"team-{team_id}" if team_id is not None else view
    current = next((item for item in views if item.key == key), None)
    if "nav" in request.GET:
        return render(request, "workspace/_views_nav.html", {"views": views, "current": current})
    if current is None:
        # Search spans every ticket the agent may see, whatever its view; its count is its own.
        found = tickets.order_by()[:COUNT_CAP].count()
        current = InboxView(
            "search",
            str(_("Search")),
            reverse("inbox", args=["search"]),
            found,
            OPEN + CLOSED,
            found >= COUNT_CAP,
        )
    cursor = request.GET.get("cursor", "")
    # "Breaching soon" is about due times; any other view is sorted by them when asked.
    order: Order = "due" if kind == "breaching" or chosen["sort"] == "due" else "queue"
    page, next_cursor = ticket_page(tickets, order=order, cursor=cursor, with_rest=kind != "breaching")
    query = request.GET.copy()
    query.pop("cursor", None)
    next_query = None
    if next_cursor is not None:
        query["cursor"] = next_cursor
        next_query = query.urlencode()
    context = {
        "views": views,
        "current": current,
        "tickets": page,
        "rows": ticket_rows(page),
        "next_query": next_query,
        "is_later_page": bool(cursor),
        "filters": chosen,
        "drill": drill_hidden(request.GET),
        "order": order,
        "order_fixed": kind == "breaching",
        "channels": channel_account_model()._default_manager.filter(active=True).order_by("name", "id"),
        "tags": Tag.objects.order_by("name").values_list("name", flat=True)[:200],
        "statuses": [(value, label) for value, label in Ticket.Status.choices if value in current.statuses],
        "priorities": Ticket.Priority.choices,
    }
    return render(request, "workspace/inbox.html", context)
