"""Who may see which ticket: one rule for UI, API and websockets alike (ARCHITECTURE §10).

Supervisors and admins see everything, but for a supervisor limited to their teams, who sees as an agent
does: the tickets of their teams and the tickets assigned to them. Anyone without an agent profile sees
nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from tickets.models import AgentProfile, Ticket


def agent_profile(user: Any) -> AgentProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.agent
    except AgentProfile.DoesNotExist:
        return None


def team_ids_of(user: Any) -> list[int]:
    profile = agent_profile(user)
    if profile is None:
        return []
    return list(profile.teams.values_list("pk", flat=True))


def supervised_team_ids(user: Any) -> list[int] | None:
    """The teams whose dashboards and reports the user may read: ``None`` for every team (a supervisor
    who sees all, an admin), their own teams for a supervisor limited to them. Raises ``PermissionDenied``
    for anyone else, so a view, the API and a socket refuse an agent alike."""
    profile = agent_profile(user)
    if profile is None or not profile.supervises or not user.is_active:
        raise PermissionDenied
    if profile.sees_all_teams:
        return None
    return team_ids_of(user)


def visible_tickets_q(user: Any) -> Q:
    """A filter for ``Ticket`` querysets; it matches nothing for a user without an agent profile."""
    profile = agent_profile(user)
    if profile is None:
        return Q(pk__in=[])
    if profile.sees_all_teams:
        return Q()
    return Q(team_id__in=team_ids_of(user)) | Q(assignee_id=user.pk)


def can_see_ticket(user: Any, ticket: Ticket) -> bool:
    profile = agent_profile(user)
    if profile is None:
        return False
    if profile.sees_all_teams or ticket.assignee_id == user.pk:
        return True
    return ticket.team_id is not None and ticket.team_id in team_ids_of(user)
