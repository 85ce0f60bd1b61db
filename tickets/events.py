"""Live events: recorded with a per-ticket ``seq``, published to named groups only after commit.

Every ticket-scoped event is also a ``TicketEvent`` row (the audit trail), so a client that missed
something asks for ``seq > N`` and gets exactly what it missed. Recipients are always chosen here, by
the publisher, from the ticket's team and assignee; subscribers never pick what they may receive.
Payload shapes live in ``tickets.event_schema`` and ``docs/events.md``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from realtime.publisher import publish
from tickets.reasons import Reason, reason_to_data

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tickets.models import Message, Ticket, TicketEvent

logger = logging.getLogger(__name__)

SUPERVISORS = "supervisors"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


def team_group(team_id: int) -> str:
    return f"team.{team_id}"


def ticket_group(ticket_id: int) -> str:
    return f"ticket.{ticket_id}"


def visitor_group(visitor_id: str) -> str:
    # Group names allow only a restricted alphabet and length; a visitor id is hex from the widget,
    # anything else is reduced to that alphabet so it can never address another group.
    safe = "".join(ch for ch in visitor_id if ch.isalnum() or ch in "-_")[:80]
    return f"visitor.{safe}"


def ticket_staff_groups(
    ticket: Ticket, *, also_team_id: int | None = None, also_user_id: int | None = None
) -> list[str]:
    """The agent-side groups allowed to see a ticket: its own group, its team, its assignee, supervisors.

    ``also_*`` name a team or agent the ticket just left, so their screens drop it.
    """
    groups = [ticket_group(ticket.pk), SUPERVISORS]
    for team_id in {ticket.team_id, also_team_id}:
        if team_id is not None:
            groups.append(team_group(team_id))
    for user_id in {ticket.assignee_id, also_user_id}:
        if user_id is not None:
            groups.append(agent_group(user_id))
    return groups


def agent_audience_groups(*, team_ids: Iterable[int]) -> list[str]:
    """Who hears about an agent (presence): supervisors and the agent's own teams."""
    return [SUPERVISORS, *(team_group(team_id) for team_id in sorted(set(team_ids)))]


def message_visitor_groups(message: Message) -> list[str]:
    """The widget that may see ``message``: only customer-facing messages, never a note.

    The channel decides (its ``audience`` in ``tickets.channel_port``): web chat's visitor sees the
    messages to and from their web-chat identity; messages on other channels, internal notes and
    system lines reach no visitor.
    """
    from tickets.channel_port import channel_audience
    from tickets.models import Message

    if message.direction not in {Message.Direction.INBOUND, Message.Direction.OUTBOUND}:
        return []
    account = message.channel_account
    if account is None:
        return []
    visitor = channel_audience(account.kind).visitor_of(message)
    return [visitor_group(visitor)] if visitor else []


def ticket_visitor_groups(ticket_id: int) -> list[str]:
    """The widget of the visitor a ticket is talking with live (for live-only hints like typing)."""
    from django.db.models import Q

    from tickets.channel_port import channels_watched
    from tickets.models import Message

    watched = Q()
    for kind, identity_kind in channels_watched().items():
        watched |= Q(channel_account__kind=kind, identity__kind=identity_kind)
    if not watched:
        return []
    value = (
        Message.objects.filter(watched, ticket_id=ticket_id, direction=Message.Direction.INBOUND)
        .order_by("-sent_at", "-id")
        .values_list("identity__value", flat=True)
        .first()
    )
    return [visitor_group(value)] if value else []


@dataclass(frozen=True)
class Publication:
    """One event bound for named groups; registered with ``on_commit`` and run after the commit."""

    groups: tuple[str, ...]
    event: dict[str, Any]
    key: str = field(default="")

    def __call__(self) -> None:
        publish(list(self.groups), self.event, key=self.key)


def event_key(ticket_id: int, seq: int, kind: str) -> str:
    """Names one recorded event on the wire, so a socket reached twice delivers it once."""
    return f"{ticket_id}:{seq}:{kind}"


def publish_on_commit(*, groups: Iterable[str], event: dict[str, Any]) -> None:
    """Send ``event`` to each group once the current transaction commits (at once outside one)."""
    targets = tuple(dict.fromkeys(groups))
    if not targets:
        return
    if "seq" in event and "ticket_id" in event:
        key = event_key(event["ticket_id"], event["seq"], event["type"])
    else:
        key = secrets.token_hex(8)
    transaction.on_commit(Publication(groups=targets, event=event, key=key))


def ephemeral_event(kind: str, **fields: Any) -> dict[str, Any]:
    """A live-only event (typing, presence, collision): never recorded, so it carries no ``seq``."""
    return {"type": kind, **fields, "at": timezone.now().isoformat()}


def ticket_event_next(
    *,
    ticket: Ticket,
    type: str,
    data: dict[str, Any],
    actor: User | None = None,
    reason: str | Reason = "",
) -> TicketEvent:
    """The ticket's next audit row, unsaved: ``ticket.seq`` moves on by one.

    The caller holds the ticket's row lock (or has just created it), which makes ``seq`` gap-free, and
    saves the row (one by one, or many at once when filing a batch) and the ticket's ``seq``. A
    ``Reason`` is stored as data, to be put into words in each reader's language.
    """
    from tickets.models import TicketEvent

    ticket.seq += 1
    row = TicketEvent(ticket=ticket, seq=ticket.seq, type=type, payload=data, actor=actor)
    if isinstance(reason, Reason):
        row.reason_data = reason_to_data(reason)
    else:
        row.reason = reason
    return row


def ticket_event_publish(*, row: TicketEvent, ticket: Ticket, groups: Iterable[str] | None = None) -> None:
    """Publish a recorded event after commit, to ``groups`` or else to the staff who may see the ticket."""
    publish_on_commit(
        groups=groups if groups is not None else ticket_staff_groups(ticket), event=event_envelope(row)
    )


def ticket_event_record(
    *,
    ticket: Ticket,
    type: str,
    data: dict[str, Any],
    actor: User | None = None,
    reason: str | Reason = "",
    groups: Iterable[str] | None = None,
    save_seq: bool = True,
) -> TicketEvent:
    """Append an audit row with the ticket's next ``seq`` and publish it after commit."""
    from tickets.models import Ticket

    row = ticket_event_next(ticket=ticket, type=type, data=data, actor=actor, reason=reason)
    if save_seq:
        Ticket.objects.filter(pk=ticket.pk).update(seq=ticket.seq)
    row.save(force_insert=True)
    ticket_event_publish(row=row, ticket=ticket, groups=groups)
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


def message_event_record(*, ticket: Ticket, message: Message, actor: User | None = None) -> TicketEvent:
    """Record ``message.created`` for staff and, for a web-chat conversation, tell the visitor.

    The visitor gets a reduced copy (no staff ids, no internal fields) on its own group, and a note
    never does: ``message_visitor_groups`` decides.
    """
    from tickets.services.serialize import message_data

    row = ticket_event_next(ticket=ticket, type="message.created", data=message_data(message), actor=actor)
    row.save(force_insert=True)
    message_event_published(row=row, ticket=ticket, message=message)
    return row


def message_event_published(*, row: TicketEvent, ticket: Ticket, message: Message) -> None:
    """Publish a recorded ``message.created`` after commit: to staff, and to the visitor when it is theirs."""
    ticket_event_publish(row=row, ticket=ticket)
    visitor_groups = message_visitor_groups(message)
    if visitor_groups:
        publish_on_commit(groups=visitor_groups, event=visitor_message_envelope(row, message))


def visitor_message_envelope(row: TicketEvent, message: Message) -> dict[str, Any]:
    return {
        "type": "message.created",
        "ticket_id": row.ticket_id,
        "seq": row.seq,
        "at": row.created_at.isoformat(),
        "data": {
            "id": message.pk,
            "direction": message.direction,
            "text": message.text,
            "status": message.status,
            "sent_at": message.sent_at.isoformat(),
        },
    }
