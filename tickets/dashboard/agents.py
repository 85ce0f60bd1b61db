"""The dashboard's agents panel: who is there, how loaded, how busy today.

Built from what the figures already read (open tickets by assignee, today's replies and solved tickets
by agent) plus one query for the agents themselves. A supervisor limited to some teams sees the members
of those teams and whoever holds one of their tickets, and every number counts only those teams' tickets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from tickets.dashboard.figures import QueueGroup, ReplyGroup
from tickets.models import AgentProfile
from tickets.services.capacity import LIVE_CHAT_KINDS, channel_weight


@dataclass(frozen=True)
class AgentRow:
    user_id: int
    name: str
    presence: str
    presence_since: datetime | None
    capacity: int
    # The weights of the agent's open tickets added up, as routing counts them against ``capacity``.
    load: int
    open_tickets: int
    # Open tickets that began in a live chat: a customer on the other side of the screen.
    chats: int
    last_reply_at: datetime | None
    replies_today: int
    solved_today: int


def _agents_in_scope(team_ids: list[int] | None, holders: Iterable[int]) -> list[AgentProfile]:
    members = Q(teams__isnull=False) if team_ids is None else Q(teams__in=team_ids)
    return list(
        AgentProfile.objects.filter(members | Q(user_id__in=list(holders)), user__is_active=True)
        .select_related("user")
        .distinct()
    )


def agents_panel(
    *,
    team_ids: list[int] | None,
    queue: list[QueueGroup],
    replies: list[ReplyGroup],
    solved: Mapping[int, int],
    team_weights: Mapping[int, Any],
    channel_kinds: Mapping[int, str],
) -> list[AgentRow]:
    """One row per agent in scope, by name. One query (the agents); the rest is already read."""
    load: dict[int, int] = {}
    open_tickets: dict[int, int] = {}
    chats: dict[int, int] = {}
    for group in queue:
        if group.assignee_id is None:
            continue
        kind = channel_kinds.get(group.channel_id) if group.channel_id is not None else None
        weights = team_weights.get(group.team_id) if group.team_id is not None else None
        user_id = group.assignee_id
        load[user_id] = load.get(user_id, 0) + channel_weight(team_weights=weights, kind=kind) * group.total
        open_tickets[user_id] = open_tickets.get(user_id, 0) + group.total
        if kind in LIVE_CHAT_KINDS:
            chats[user_id] = chats.get(user_id, 0) + group.total
    replied = {group.author_id: group for group in replies}
    rows = []
    for profile in _agents_in_scope(team_ids, open_tickets):
        user_id = profile.user_id
        reply = replied.get(user_id)
        rows.append(
            AgentRow(
                user_id=user_id,
                name=profile.user.get_full_name() or profile.user.get_username(),
                presence=profile.presence,
                presence_since=profile.presence_changed_at,
                capacity=profile.capacity,
                load=load.get(user_id, 0),
                open_tickets=open_tickets.get(user_id, 0),
                chats=chats.get(user_id, 0),
                last_reply_at=reply.last_at if reply else None,
                replies_today=reply.count if reply else 0,
                solved_today=solved.get(user_id, 0),
            )
        )
    return sorted(rows, key=lambda row: (row.name.casefold(), row.user_id))
