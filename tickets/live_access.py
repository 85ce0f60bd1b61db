"""What an agent's socket may hear: its groups, and whether one delivered event is for it.

The rule is the one of ``tickets.access``, applied twice. Before joining a ticket's group the socket checks
``can_see_ticket``. At delivery it checks the event itself, whatever group brought it: a recorded ticket
event goes to a socket only if the publisher addressed it to a group the agent belongs to *now* (its own
group, a team it is in, ``supervisors`` if it sees every team), since the publisher chose those groups from
the ticket's team and assignee at that moment; a live-only ticket event (typing, collision) goes only to a
socket subscribed to that ticket, or, when its publisher addressed the ticket's staff (``ticket.sla_changed``,
for the lists), by the rule of recorded events. Being in a group proves nothing: a socket can be there for a
moment before a refused subscription, or still be in a team's group after leaving the team.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from tickets import events
from tickets.access import agent_profile, can_see_ticket
from tickets.models import AgentProfile, Ticket


@dataclass(frozen=True)
class AgentFacts:
    """Who the agent behind a socket is now, as far as hearing goes."""

    user_id: int
    team_ids: frozenset[int]
    sees_all: bool

    def groups(self) -> list[str]:
        """The groups the agent's sockets belong in: its own, its teams', ``supervisors`` if it sees all."""
        joined = [events.agent_group(self.user_id)]
        joined += [events.team_group(team_id) for team_id in sorted(self.team_ids)]
        if self.sees_all:
            joined.append(events.SUPERVISORS)
        return joined

    def as_message(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "team_ids": sorted(self.team_ids), "sees_all": self.sees_all}

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> AgentFacts:
        return cls(user_id=data["user_id"], team_ids=frozenset(data["team_ids"]), sees_all=data["sees_all"])


def agent_facts(user: Any) -> AgentFacts | None:
    """The facts of a signed-in user; ``None`` for anyone who is not an active agent."""
    profile = agent_profile(user)
    if profile is None or not user.is_active:
        return None
    return AgentFacts(
        user_id=user.pk,
        team_ids=frozenset(profile.teams.values_list("pk", flat=True)),
        sees_all=profile.sees_all_teams,
    )


def agents_facts(user_ids: Iterable[int]) -> dict[int, AgentFacts]:
    """The facts of many agents in two queries; an id missing from the answer is no active agent now."""
    ids = set(user_ids)
    if not ids:
        return {}
    roles = {
        user_id: (role, limited)
        for user_id, role, limited in AgentProfile.objects.filter(
            user_id__in=ids, user__is_active=True
        ).values_list("user_id", "role", "limited_to_teams")
    }
    teams: dict[int, set[int]] = defaultdict(set)
    memberships = AgentProfile.teams.through.objects.filter(agentprofile__user_id__in=roles)
    for user_id, team_id in memberships.values_list("agentprofile__user_id", "team_id"):
        teams[user_id].add(team_id)
    return {
        user_id: AgentFacts(
            user_id=user_id,
            team_ids=frozenset(teams[user_id]),
            sees_all=AgentProfile(role=role, limited_to_teams=limited).sees_all_teams,
        )
        for user_id, (role, limited) in roles.items()
    }


def visible_seq(user_id: int, ticket_id: int) -> int | None:
    """The ticket's current ``seq`` if the agent may see it now; ``None`` for forbidden and missing alike.

    The user is read afresh: the socket's own copy dates from its handshake, and a role or an account
    may have changed since.
    """
    user = get_user_model().objects.select_related("agent").filter(pk=user_id, is_active=True).first()
    ticket = Ticket.objects.filter(pk=ticket_id).only("pk", "team_id", "assignee_id", "seq").first()
    if user is None or ticket is None or not can_see_ticket(user, ticket):
        return None
    return ticket.seq


def entitled(message: dict[str, Any], *, hears: frozenset[str], subscribed: Iterable[int]) -> bool:
    """Whether a socket hearing ``hears`` and subscribed to ``subscribed`` may deliver ``message``.

    ``message`` is a channel-layer message of ``realtime.publisher.layer_message``; ``to`` names the
    groups its publisher addressed. A live-only ticket event (no ``seq``) is for the screens showing the
    ticket, and for the staff groups its publisher named, as a recorded event is. The ticket's own group
    never makes anyone an addressee, as only its team, assignee and supervisors may see it; ``hears``
    never holds a ticket's group, so typing and collision (addressed to that group alone) stay with the
    subscribed sockets.
    """
    addressed = not hears.isdisjoint(message.get("to", ()))
    ticket_id = message.get("ticket_id")
    if ticket_id is not None and message.get("seq") is None:
        return ticket_id in subscribed or addressed
    return addressed
