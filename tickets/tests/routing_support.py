"""What the routing tests share: agents put online with a capacity, channels of a kind, who has what."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import User

from channels_in.models import ChannelAccount
from tickets.models import AgentProfile, Team, Ticket, TicketEvent
from tickets.services.capacity import agent_loads

_numbers = itertools.count(1)


def online(user: User, *, capacity: int = 10, **profile: Any) -> User:
    AgentProfile.objects.filter(user=user).update(
        presence=AgentProfile.Presence.ONLINE, capacity=capacity, **profile
    )
    return user


def strategy(team: Team, value: str, **fields: Any) -> Team:
    Team.objects.filter(pk=team.pk).update(assignment_strategy=value, **fields)
    team.refresh_from_db()
    return team


def channel(kind: str, team: Team) -> ChannelAccount:
    number = next(_numbers)
    return ChannelAccount.objects.create(
        kind=kind, name=f"{kind} {number}", key=f"{kind}-routing-{number}", default_team=team
    )


def assignee(ticket: Ticket) -> int | None:
    return Ticket.objects.values_list("assignee_id", flat=True).get(pk=ticket.pk)


def assignees(tickets: list[Ticket]) -> list[int | None]:
    by_id = dict(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("pk", "assignee_id"))
    return [by_id[ticket.pk] for ticket in tickets]


def load(user: User) -> int:
    return agent_loads(user_ids=[user.pk])[user.pk]


def last_assignment(ticket: Ticket) -> TicketEvent:
    return TicketEvent.objects.filter(ticket=ticket, type="ticket.assigned").order_by("-seq").first()  # type: ignore[return-value]
