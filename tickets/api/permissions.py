"""Who may call the API and what they may change.

Seeing a ticket is decided by ``tickets.access`` alone. On top of that, what an agent may do to a ticket
they see follows how help desks are run: anyone may work a ticket and hand it to another team; an agent
assigns only to themselves or to a member of the ticket's team, supervisors and admins to any agent.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from tickets.access import agent_profile, can_see_ticket
from tickets.models import AgentProfile, ContactMerge, Team, Ticket


class IsAgent(BasePermission):
    """Signed-in staff with an agent profile (agent, supervisor or admin)."""

    message = "An agent profile is required to use the API."

    def has_permission(self, request: Request, view: Any) -> bool:
        return agent_profile(request.user) is not None


class IsSupervisorOrReadOnly(IsAgent):
    """Every agent reads; supervisors and admins write."""

    message = "Only supervisors and admins may change this."

    def has_permission(self, request: Request, view: Any) -> bool:
        profile = agent_profile(request.user)
        if profile is None:
            return False
        return request.method in SAFE_METHODS or profile.sees_all_teams


class IsSupervisor(IsAgent):
    """Supervisors and admins only, whatever the method."""

    message = "Only supervisors and admins may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        profile = agent_profile(request.user)
        return profile is not None and profile.sees_all_teams


def is_supervisor(user: Any) -> bool:
    profile = agent_profile(user)
    return profile is not None and profile.sees_all_teams


def is_team_member(*, user_id: int, team: Team | None) -> bool:
    return team is not None and AgentProfile.objects.filter(user_id=user_id, teams=team).exists()


def assignment_check(
    *, actor: Any, ticket: Ticket, team: Team | None, assignee: AbstractBaseUser | None
) -> None:
    """Refuse an assignment the actor may not make. ``team`` is the ticket's team after the change."""
    if assignee is None or is_supervisor(actor) or assignee.pk == actor.pk:
        return
    if is_team_member(user_id=assignee.pk, team=team):
        return
    raise PermissionDenied("assignee: agents may assign a ticket only to themselves or a member of its team.")


def contact_merge_check(*, actor: Any, open_tickets: list[Ticket]) -> None:
    """Merging folds one open ticket into another: an agent must be able to read both."""
    if is_supervisor(actor):
        return
    if all(can_see_ticket(actor, ticket) for ticket in open_tickets):
        return
    raise PermissionDenied("Merging these contacts joins tickets of a team you are not in: ask a supervisor.")


def contact_merge_undo_check(*, actor: Any, merge: ContactMerge) -> None:
    """Supervisors and admins undo any merge; an agent, the merges they made."""
    if is_supervisor(actor) or merge.created_by_id == actor.pk:
        return
    raise PermissionDenied("Only a supervisor, or the agent who merged, may undo this merge.")
