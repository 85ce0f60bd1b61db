"""Assignment of waiting tickets to an agent of their team (ARCHITECTURE §8, docs/routing.md).

A ticket goes to an online agent of its team whose weighted load leaves room for it
(``tickets.services.capacity``), who has the skills and speaks the language it asks for until the team's
fallback wait has passed, in the order of the team's strategy. The agent's load is counted again under
their profile's row lock before the ticket is given, so concurrent routers never fill one slot twice.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from tickets.models import AgentProfile, Team, Ticket
from tickets.reasons import Reason
from tickets.services import capacity
from tickets.services.capacity import Candidate, Needs
from tickets.services.tickets import ticket_update

logger = logging.getLogger(__name__)

# A timer armed for the fallback fires this much after it, so that it never finds the wait not over yet.
FALLBACK_MARGIN_SECONDS = 1


class Outcome(enum.Enum):
    ASSIGNED = "assigned"
    # Closed, assigned, without a team, or the team assigns by hand: nothing for routing to do.
    LEFT = "left"
    # No online agent of the team has room for the ticket's weight.
    FULL = "full"
    # Someone has room, but nobody with the skills and language the ticket asks for, yet.
    UNMATCHED = "unmatched"


def ticket_route(
    *, ticket_id: int, exclude_user_id: int | None = None, arm_fallback: bool = True
) -> Ticket | None:
    """Give an unassigned open ticket to an online agent of its team with room for it.

    Manual teams keep the ticket in their queue. ``exclude_user_id`` is an agent the ticket is being
    taken from. A ticket that waits only for its skills or language arms a timer for the moment the
    team's fallback lets anyone take it, unless ``arm_fallback`` is off (the timer itself).
    """
    return _route(ticket_id, exclude_user_id=exclude_user_id, arm_fallback=arm_fallback)[0]


def tickets_route(*, ticket_ids: Sequence[int]) -> int:
    """Route many tickets in the order given, each as ``ticket_route`` does; returns how many were assigned.

    A burst of new tickets often lands on a team with nobody free: once nobody in a team has room for a
    ticket of some weight, its later tickets of that weight or more are left in its queue without being
    locked and asked again. Room freeing up offers the waiting tickets again (``capacity_freed``).
    """
    rows = Ticket.objects.filter(pk__in=ticket_ids, assignee__isnull=True).values_list(
        "pk", "team_id", "team__channel_weights", "origin_channel__kind"
    )
    waiting = {
        pk: (team_id, capacity.channel_weight(team_weights=weights, kind=kind))
        for pk, team_id, weights, kind in rows
        if team_id is not None
    }
    # Per team, the lightest ticket nobody had room for.
    full_from: dict[int, int] = {}
    assigned = 0
    for ticket_id in ticket_ids:
        if ticket_id not in waiting:
            continue
        team_id, weight = waiting[ticket_id]
        if weight >= full_from.get(team_id, weight + 1):
            continue
        ticket, outcome = _route(ticket_id)
        if outcome is Outcome.ASSIGNED:
            assigned += 1
        elif outcome is Outcome.FULL and ticket is not None and ticket.team_id == team_id:
            full_from[team_id] = weight
    return assigned


def capacity_freed(*, user_id: int, limit: int = capacity.WAITING_BATCH) -> int:
    """Room may have opened up around this agent (online again, a ticket solved or taken from them):
    offer the waiting tickets of their teams, most urgent first; returns how many were assigned."""
    team_ids = [
        team_id
        for team_id in AgentProfile.objects.filter(user_id=user_id).values_list("teams", flat=True)
        if team_id is not None
    ]
    if not team_ids:
        return 0
    return tickets_route(ticket_ids=capacity.tickets_waiting(team_ids=team_ids, limit=limit))


def _route(
    ticket_id: int, *, exclude_user_id: int | None = None, arm_fallback: bool = True
) -> tuple[Ticket | None, Outcome]:
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("team", "origin_channel")
            .filter(pk=ticket_id)
            .first()
        )
        if ticket is None or not ticket.is_open or ticket.assignee_id is not None or ticket.team is None:
            return ticket, Outcome.LEFT
        team = ticket.team
        if team.assignment_strategy == Team.Strategy.MANUAL:
            return ticket, Outcome.LEFT
        weight = capacity.ticket_weight(ticket)
        with_room = [
            candidate
            for candidate in capacity.team_candidates(team=team, exclude_user_id=exclude_user_id)
            if candidate.has_room_for(weight)
        ]
        if not with_room:
            return ticket, Outcome.FULL
        needs = Needs.of(ticket)
        relaxed_at = capacity.fallback_at(ticket, team) if needs else None
        matched, reason = _matching(team, needs, with_room, relaxed_at)
        for candidate in _in_strategy_order(team, matched):
            load = _claim(candidate, team=team, weight=weight)
            if load is None:
                continue
            reason = reason or Reason(
                f"routing.strategy.{team.assignment_strategy}",
                {"team": team.name, "load": load, "capacity": candidate.profile.capacity},
            )
            AgentProfile.objects.filter(pk=candidate.profile.pk).update(last_assigned_at=timezone.now())
            assigned = ticket_update(
                ticket=ticket, actor=None, assignee=candidate.profile.user, reason=reason
            )
            return assigned, Outcome.ASSIGNED
        if len(matched) == len(with_room):
            # Everyone who had room filled up meanwhile.
            return ticket, Outcome.FULL
        if arm_fallback and relaxed_at is not None and reason is None:
            _fallback_arm(ticket.pk, relaxed_at)
        return ticket, Outcome.UNMATCHED


def _matching(
    team: Team, needs: Needs, with_room: list[Candidate], relaxed_at: datetime | None
) -> tuple[list[Candidate], Reason | None]:
    """Who of ``with_room`` may take the ticket, and the reason to record if it is the fallback's."""
    if not needs:
        return with_room, None
    matched = [candidate for candidate in with_room if needs.met_by(candidate.profile)]
    if matched or relaxed_at is None or relaxed_at > timezone.now():
        return matched, None
    return with_room, _fallback_reason(team, needs, with_room)


def _in_strategy_order(team: Team, candidates: list[Candidate]) -> list[Candidate]:
    def longest_ago(candidate: Candidate) -> tuple[bool, datetime | None]:
        last = candidate.profile.last_assigned_at
        return last is not None, last

    if team.assignment_strategy == Team.Strategy.ROUND_ROBIN:
        return sorted(candidates, key=lambda c: (*longest_ago(c), c.profile.pk))
    return sorted(
        candidates, key=lambda c: (c.load / max(c.profile.capacity, 1), *longest_ago(c), c.profile.pk)
    )


class _NoRoom(Exception):
    pass


def _claim(candidate: Candidate, *, team: Team, weight: int) -> int | None:
    """Lock the agent's profile and count their load again; their load before this ticket if it fits.

    In a savepoint: the lock on an agent found full is let go at once, so a router holds at most one
    agent's lock and two routers cannot wait on each other's.
    """
    try:
        with transaction.atomic():
            profile = (
                AgentProfile.objects.select_for_update(of=("self",))
                .filter(
                    pk=candidate.profile.pk,
                    teams=team,
                    presence=AgentProfile.Presence.ONLINE,
                    user__is_active=True,
                )
                .only("pk", "user_id", "capacity")
                .first()
            )
            if profile is None:
                raise _NoRoom
            load = capacity.agent_loads(user_ids=[profile.user_id])[profile.user_id]
            if load + weight > profile.capacity:
                raise _NoRoom
            return load
    except _NoRoom:
        return None


def _fallback_reason(team: Team, needs: Needs, with_room: list[Candidate]) -> Reason:
    values: dict[str, str | int | None] = {"minutes": team.skills_fallback_minutes, "team": team.name}
    if needs.skills and (needs.unmet_by_skills(with_room) or not needs.language):
        return Reason(
            "routing.skills_fallback",
            {**values, "skills": ", ".join(sorted(needs.skills)), "language": needs.language or None},
        )
    return Reason("routing.language_fallback", {**values, "language": needs.language})


def _fallback_arm(ticket_id: int, at: datetime) -> None:
    """Offer the ticket again when its fallback wait is over, after commit.

    A waiting ticket is looked at each time room frees up; the cache keeps that from arming a timer each
    time. A second timer (a cache that forgot) does no harm: routing a routed ticket changes nothing.
    """
    from tickets import tasks

    def arm() -> None:
        seconds = max((at - timezone.now()).total_seconds(), 0) + FALLBACK_MARGIN_SECONDS
        if cache.add(f"routing-fallback:{ticket_id}:{int(at.timestamp())}", 1, timeout=int(seconds) + 60):
            tasks.route_after_fallback.apply_async((ticket_id,), countdown=seconds)

    transaction.on_commit(arm, robust=True)
