"""Taking open tickets away from an agent and offering them to the rest of the team.

Two ways: a supervisor redistributes all of an agent's open tickets (an agent who left early, is ill, or
is drowning), and an agent going offline gives back the live chats whose customer is waiting for an
answer. Each ticket is unassigned and routed again in one transaction of its own, under its row lock,
with a reason for each step; a ticket nobody else can take waits in its team's queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet

from tickets.access import agent_profile
from tickets.models import AgentProfile, Ticket
from tickets.reasons import Reason
from tickets.services import capacity
from tickets.services.routing import ticket_route
from tickets.services.tickets import ticket_update

logger = logging.getLogger(__name__)


@dataclass
class Redistribution:
    """What became of the agent's tickets: given to another agent, or waiting in their team's queue."""

    reassigned: dict[int, int] = field(default_factory=dict)  # ticket id → new assignee's user id
    waiting: list[int] = field(default_factory=list)


def redistribute_check(*, actor: User) -> None:
    """Only supervisors and admins move another agent's tickets."""
    profile = agent_profile(actor)
    if profile is None or not profile.sees_all_teams:
        raise PermissionDenied("Only supervisors and admins may redistribute an agent's tickets.")


def agent_tickets_redistribute(*, agent_user_id: int, actor: User) -> Redistribution:
    """Unassign every open ticket of the agent and offer each to routing, most urgent first.

    The agent is passed over for their own tickets here; a ticket nobody else has room for waits in its
    team's queue, and goes to whoever has room first, as any waiting ticket does.
    Raises ``AgentProfile.DoesNotExist`` for an unknown agent.
    """
    redistribute_check(actor=actor)
    agent = AgentProfile.objects.select_related("user").get(user_id=agent_user_id)
    reason = Reason("routing.redistributed", {"agent": str(agent)})
    outcome = _release(
        Ticket.objects.filter(assignee_id=agent_user_id, status__in=Ticket.OPEN_STATUSES),
        agent_user_id=agent_user_id,
        actor=actor,
        reason=reason,
    )
    logger.info(
        "user %s redistributed %s tickets of agent %s: %s reassigned, %s waiting",
        actor.pk,
        len(outcome.reassigned) + len(outcome.waiting),
        agent_user_id,
        len(outcome.reassigned),
        len(outcome.waiting),
    )
    return outcome


def agent_offline_release(*, user_id: int) -> int:
    """The agent went offline: give their live chats awaiting an answer to someone online.

    Runs after the presence change commits; an agent back online by then keeps their chats. Returns how
    many chats were taken from them.
    """
    agent = AgentProfile.objects.select_related("user").filter(user_id=user_id).first()
    if agent is None or agent.presence != AgentProfile.Presence.OFFLINE:
        return 0
    chats = Ticket.objects.filter(
        assignee_id=user_id,
        status__in=Ticket.OPEN_STATUSES,
        awaiting_agent_since__isnull=False,
        origin_channel__kind__in=capacity.LIVE_CHAT_KINDS,
    )
    outcome = _release(
        chats,
        agent_user_id=user_id,
        actor=None,
        reason=Reason("routing.agent_offline", {"agent": str(agent)}),
    )
    released = len(outcome.reassigned) + len(outcome.waiting)
    if released:
        logger.info("agent %s went offline: %s waiting chats offered to others", user_id, released)
    return released


def _release(
    tickets: QuerySet[Ticket], *, agent_user_id: int, actor: User | None, reason: Reason
) -> Redistribution:
    outcome = Redistribution()
    for ticket_id in list(tickets.order_by(*capacity.WAITING_ORDER).values_list("pk", flat=True)):
        with transaction.atomic():
            # Looked at again under the lock: the agent may have solved or handed it on meanwhile.
            ticket = tickets.select_for_update(of=("self",)).filter(pk=ticket_id).first()
            if ticket is None:
                continue
            ticket_update(ticket=ticket, actor=actor, assignee=None, reason=reason)
            routed = ticket_route(ticket_id=ticket_id, exclude_user_id=agent_user_id)
        if routed is not None and routed.assignee_id is not None:
            outcome.reassigned[ticket_id] = routed.assignee_id
        else:
            outcome.waiting.append(ticket_id)
    return outcome
