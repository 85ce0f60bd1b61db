"""What routing measures: an agent's weighted load, who may take a ticket, and which tickets wait first.

Reads only; ``tickets.services.routing`` decides and assigns. An open ticket costs its assignee the weight
of its channel (a live chat holds an agent's attention more than an email does): the ticket team's
``channel_weights`` for the channel kind, else ``settings.ROUTING_CHANNEL_WEIGHTS``, else 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F
from django.db.models.functions import Coalesce

from tickets.models import AgentProfile, Team, Ticket
from tickets.rule_values import primary_language

# Channel kinds where the customer is there now, waiting on the screen: an agent going offline gives
# these back to the team rather than leave the customer waiting for their return.
LIVE_CHAT_KINDS = ("webchat",)

# The order waiting tickets are offered in: most urgent, then the SLA due soonest (tickets without a
# due time after those with one), then the longest waiting.
WAITING_ORDER = (
    F("priority").desc(),
    F("sla_due_at").asc(nulls_last=True),
    Coalesce("awaiting_agent_since", "created_at").asc(),
    F("id").asc(),
)

# How many waiting tickets one "capacity freed" looks at; more wait for the next freed slot.
WAITING_BATCH = 100


def channel_weight(*, team_weights: object, kind: str | None) -> int:
    """What one open ticket from a channel of ``kind`` costs; only whole numbers of 1 or more count."""
    for weights in (team_weights, settings.ROUTING_CHANNEL_WEIGHTS):
        if isinstance(weights, Mapping) and kind:
            value = weights.get(kind)
            if type(value) is int and value >= 1:
                return value
    return 1


def ticket_weight(ticket: Ticket) -> int:
    """The ticket's cost; reads ``team`` and ``origin_channel``, so select them with the ticket."""
    team_weights = ticket.team.channel_weights if ticket.team is not None else None
    kind = ticket.origin_channel.kind if ticket.origin_channel is not None else None
    return channel_weight(team_weights=team_weights, kind=kind)


def agent_loads(*, user_ids: Iterable[int]) -> dict[int, int]:
    """Each agent's weighted load: the weights of their open tickets added up. One query."""
    wanted = list(user_ids)
    loads = dict.fromkeys(wanted, 0)
    if not wanted:
        return loads
    rows = (
        Ticket.objects.filter(assignee_id__in=wanted, status__in=Ticket.OPEN_STATUSES)
        .values("assignee_id", "team__channel_weights", "origin_channel__kind")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in rows:
        weight = channel_weight(team_weights=row["team__channel_weights"], kind=row["origin_channel__kind"])
        loads[row["assignee_id"]] += weight * row["count"]
    return loads


@dataclass(frozen=True)
class Candidate:
    """An online agent of the team, with their weighted load when it was read."""

    profile: AgentProfile
    load: int

    def has_room_for(self, weight: int) -> bool:
        return self.load + weight <= self.profile.capacity


def team_candidates(*, team: Team, exclude_user_id: int | None = None) -> list[Candidate]:
    """The team's online, active agents with their loads. Two queries."""
    online = AgentProfile.objects.filter(
        teams=team, presence=AgentProfile.Presence.ONLINE, user__is_active=True
    ).select_related("user")
    if exclude_user_id is not None:
        online = online.exclude(user_id=exclude_user_id)
    profiles = list(online)
    loads = agent_loads(user_ids=[profile.user_id for profile in profiles])
    return [Candidate(profile, loads[profile.user_id]) for profile in profiles]


def _folded(values: Any) -> frozenset[str]:
    if not isinstance(values, list | tuple):
        return frozenset()
    return frozenset(str(value).strip().casefold() for value in values if str(value).strip())


@dataclass(frozen=True)
class Needs:
    """What a ticket asks of its agent: every skill in ``skills``, and ``language`` (primary subtag)."""

    skills: frozenset[str]
    language: str

    @classmethod
    def of(cls, ticket: Ticket) -> Needs:
        return cls(_folded(ticket.required_skills), primary_language(ticket.language or ""))

    def __bool__(self) -> bool:
        return bool(self.skills or self.language)

    def met_by(self, profile: AgentProfile) -> bool:
        """All the skills, and the language; an agent who lists no languages is taken to speak any."""
        if not self.skills <= _folded(profile.skills):
            return False
        spoken = {primary_language(code) for code in _folded(profile.languages)}
        return not self.language or not spoken or self.language in spoken

    def unmet_by_skills(self, candidates: Sequence[Candidate]) -> bool:
        """Whether the skills, not the language alone, are what nobody among ``candidates`` has."""
        return bool(self.skills) and not any(
            self.skills <= _folded(candidate.profile.skills) for candidate in candidates
        )


def waiting_since(ticket: Ticket) -> datetime:
    return ticket.awaiting_agent_since or ticket.created_at


def fallback_at(ticket: Ticket, team: Team) -> datetime | None:
    """When any agent of the team may take a ticket nobody with its skills and language took; never if 0."""
    if not team.skills_fallback_minutes:
        return None
    return waiting_since(ticket) + timedelta(minutes=team.skills_fallback_minutes)


def tickets_waiting(*, team_ids: Iterable[int], limit: int = WAITING_BATCH) -> list[int]:
    """Open, unassigned tickets of these teams that routing assigns, in ``WAITING_ORDER``."""
    return list(
        Ticket.objects.filter(
            team_id__in=list(team_ids),
            assignee__isnull=True,
            status__in=Ticket.OPEN_STATUSES,
        )
        .exclude(team__assignment_strategy=Team.Strategy.MANUAL)
        .order_by(*WAITING_ORDER)
        .values_list("pk", flat=True)[:limit]
    )


def capacity_freed_request(*, user_id: int) -> None:
    """Room may have opened up around this agent: offer their teams' waiting tickets after commit."""
    from tickets import tasks

    tasks.route_freed.delay_on_commit(user_id)
