"""Assignment of new and reopened tickets to an agent of their team (ARCHITECTURE §8)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from tickets.models import AgentProfile, Team, Ticket
from tickets.reasons import Reason
from tickets.services.tickets import ticket_update

logger = logging.getLogger(__name__)


def ticket_route(*, ticket_id: int) -> Ticket | None:
    """Give an unassigned open ticket to an online agent of its team with free capacity.

    Manual teams keep the ticket in their queue. Every decision is recorded with its reason.
    """
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",)).select_related("team").filter(pk=ticket_id).first()
        )
        if ticket is None or not ticket.is_open or ticket.assignee_id is not None or ticket.team is None:
            return ticket
        if ticket.team.assignment_strategy == Team.Strategy.MANUAL:
            return ticket
        profile = _pick_agent(ticket.team)
        if profile is None:
            return ticket
        # Serializes assignments to one agent, so two routers cannot both fill the last slot.
        AgentProfile.objects.select_for_update().filter(pk=profile.pk).first()
        AgentProfile.objects.filter(pk=profile.pk).update(last_assigned_at=timezone.now())
        reason = Reason(
            f"routing.strategy.{ticket.team.assignment_strategy}",
            {"team": ticket.team.name, "load": profile.open_load, "capacity": profile.capacity},  # type: ignore[attr-defined]
        )
        return ticket_update(ticket=ticket, actor=None, assignee=profile.user, reason=reason)


def tickets_route(*, ticket_ids: Sequence[int]) -> int:
    """Route many tickets, each as ``ticket_route`` does; returns how many were assigned.

    A burst of new tickets often lands on a team with nobody free: once a team has no agent to give
    a ticket to, its other tickets in the list are left in its queue without being locked and asked
    again. An agent coming online offers the waiting tickets to routing anyway.
    """
    waiting = dict(
        Ticket.objects.filter(pk__in=ticket_ids, assignee__isnull=True).values_list("pk", "team_id")
    )
    nobody_free: set[int] = set()
    assigned = 0
    for ticket_id in ticket_ids:
        team_id = waiting.get(ticket_id)
        if team_id is None or team_id in nobody_free:
            continue
        ticket = ticket_route(ticket_id=ticket_id)
        if ticket is None or ticket.team_id != team_id:
            continue
        if ticket.assignee_id is not None:
            assigned += 1
        elif ticket.is_open:
            # Open, unassigned and still in this team after routing: nobody there takes one now.
            nobody_free.add(team_id)
    return assigned


def _pick_agent(team: Team) -> AgentProfile | None:
    candidates = (
        AgentProfile.objects.filter(teams=team, presence=AgentProfile.Presence.ONLINE, user__is_active=True)
        .annotate(
            open_load=Count(
                "user__assigned_tickets", filter=Q(user__assigned_tickets__status__in=Ticket.OPEN_STATUSES)
            )
        )
        .select_related("user")
    )
    available = [profile for profile in candidates if profile.open_load < profile.capacity]
    if not available:
        return None
    if team.assignment_strategy == Team.Strategy.ROUND_ROBIN:
        return min(available, key=lambda p: (p.last_assigned_at is not None, p.last_assigned_at, p.pk))
    return min(
        available,
        key=lambda p: (p.open_load / max(p.capacity, 1), p.last_assigned_at or timezone.now(), p.pk),
    )
