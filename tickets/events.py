"""Live events: recorded with a per-ticket ``seq``, published to named groups only after commit.

Every ticket-scoped event is also a ``TicketEvent`` row (the audit trail), so a client that missed
something asks for ``seq > N`` and gets exactly what it missed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction

from tickets.live import publish

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

SUPERVISORS = "supervisors"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


def team_group(team_id: int) -> str:
    return f"team.{team_id}"


def ticket_group(ticket_id: int) -> str:
    return f"ticket.{ticket_id}"


def visitor_group(visitor_id: str) -> str:
    return f"visitor.{visitor_id}"


def ticket_staff_groups(
    ticket: Ticket, *, also_team_id: int | None = None, also_user_id: int | None = None
) -> list[str]:
    """The agent-side groups allowed to see a ticket: its own group, its team, its assignee, supervisors.

    ``also_*`` name a team or agent the ticket just left, so their screens drop it.
    """
    groups = [ticket_group(ticket.pk), SUPERVISORS]
    for team_id in {ticket.team_id, also_team_id} - {None}:
        groups.append(team_group(team_id))
    for user_id in {ticket.assignee_id, also_user_id} - {None}:
        groups.append(agent_group(user_id))
    return groups


def publish_on_commit(*, groups: Iterable[str], event: dict[str, Any]) -> None:
    """Send ``event`` to each group once the current transaction commits (at once outside one)."""
    targets = list(dict.fromkeys(groups))
    transaction.on_commit(lambda: publish(targets, event))


def ticket_event_record(
    *,
    ticket: Ticket,
    type: str,
    data: dict[str, Any],
    actor: AbstractBaseUser | None = None,
    reason: str = "",
    groups: Iterable[str] | None = None,
    save_seq: bool = True,
) -> TicketEvent:
    """Append an audit row with the ticket's next ``seq`` and publish it after commit.

    The caller holds the ticket's row lock (or has just created it), which makes ``seq`` gap-free.
    """
    from tickets.models import Ticket, TicketEvent

    ticket.seq += 1
    if save_seq:
        Ticket.objects.filter(pk=ticket.pk).update(seq=ticket.seq)
    row = TicketEvent.objects.create(
        ticket=ticket, seq=ticket.seq, type=type, payload=data, actor=actor, reason=reason
    )
    envelope = event_envelope(row)
    publish_on_commit(groups=groups if groups is not None else ticket_staff_groups(ticket), event=envelope)
    return row


def event_envelope(row: TicketEvent) -> dict[str, Any]:
    return {
        "type": row.type,
        "ticket_id": row.ticket_id,
        "seq": row.seq,
        "at": row.created_at.isoformat(),
        "actor_id": row.actor_id,
        "data": row.payload,
    }
