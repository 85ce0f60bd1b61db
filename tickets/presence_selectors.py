"""Reads for the workspace's presence header: who the viewer may see online.

An agent sees the other agents of their own teams; supervisors and admins see every agent, as they hear
every ``presence.changed`` event (``events.agent_audience_groups``). The list is read once per page and
then kept current by those events, so it must not name anyone whose events the viewer would not hear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickets.access import agent_profile
from tickets.models import AgentProfile


@dataclass(frozen=True)
class TeammatePresence:
    user_id: int
    name: str
    presence: str
    presence_label: str


def teammates_presence_list(*, user: Any) -> list[TeammatePresence]:
    """The agents ``user`` may see the presence of, by name; themselves excluded. One query."""
    profile = agent_profile(user)
    if profile is None:
        return []
    agents = (
        AgentProfile.objects.filter(user__is_active=True)
        .exclude(user_id=user.pk)
        .select_related("user")
        .only("user_id", "presence", "user__first_name", "user__last_name", "user__username")
    )
    if not profile.sees_all_teams:
        # Through the viewer's own team memberships: a second agent in two shared teams is listed once.
        agents = agents.filter(teams__agents=profile).distinct()
    teammates = [
        TeammatePresence(
            user_id=agent.user_id,
            name=str(agent),
            presence=agent.presence,
            presence_label=str(agent.get_presence_display()),
        )
        for agent in agents
    ]
    return sorted(teammates, key=lambda teammate: (teammate.name.casefold(), teammate.user_id))
