"""Reads for a web-chat visitor: only messages to and from their own identity, never a note.

A visitor is known by the value of their web-chat identity; everything here is scoped by it, so a
visitor can read nothing but their own conversation. Answers are plain data (``VisitorMessage``): the
channel formats them for its widget and never handles the domain's rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, Subquery

from tickets.inbound import IdentityKind
from tickets.models import AgentProfile, Attachment, ContactIdentity, Message, Ticket
from tickets.selectors import ticket_events_after
from tickets.sla_display import SLA_DISPLAY_FIELDS, customer_reply_due_at

HISTORY_LIMIT = 200
_VISIBLE = [Message.Direction.INBOUND, Message.Direction.OUTBOUND]
_MESSAGE_EVENTS = ["message.created", "message.status"]


@dataclass(frozen=True)
class VisitorFile:
    id: int
    name: str
    content_type: str
    size: int
    # False while the file is still being fetched (or could not be): nothing to link to yet.
    stored: bool


@dataclass(frozen=True)
class VisitorMessage:
    """A message as a visitor may know it: no staff ids, no internal fields, agents by first name."""

    id: int
    ticket_id: int
    inbound: bool
    external_id: str
    text: str
    status: str
    sent_at: datetime
    author: str
    files: list[VisitorFile]


def _identity_id(visitor_id: str) -> int | None:
    return (
        ContactIdentity.objects.filter(kind=IdentityKind.WEBCHAT, value=visitor_id)
        .values_list("pk", flat=True)
        .first()
    )


def _visible_messages(identity_id: int) -> QuerySet[Message]:
    return (
        Message.objects.filter(identity_id=identity_id, direction__in=_VISIBLE)
        .select_related("author")
        .prefetch_related("attachments")
    )


def _as_visitor_message(message: Message) -> VisitorMessage:
    author = ""
    if message.direction == Message.Direction.OUTBOUND and message.author is not None:
        author = message.author.first_name or message.author.get_username()
    return VisitorMessage(
        id=message.pk,
        ticket_id=message.ticket_id,
        inbound=message.direction == Message.Direction.INBOUND,
        external_id=message.external_id or "",
        text=message.text,
        status=message.status,
        sent_at=message.sent_at,
        author=author,
        files=[
            VisitorFile(item.pk, item.filename, item.content_type, item.size, bool(item.file))
            for item in message.attachments.all()
        ],
    )


def _open_ticket_messages(account_id: int, visitor_id: str) -> QuerySet[Message]:
    return Message.objects.filter(
        channel_account_id=account_id,
        identity__kind=IdentityKind.WEBCHAT,
        identity__value=visitor_id,
        direction=Message.Direction.INBOUND,
        ticket__status__in=Ticket.OPEN_STATUSES,
    ).order_by("-sent_at", "-id")


def visitor_open_ticket_id(*, account_id: int, visitor_id: str) -> int | None:
    """The open ticket the visitor is writing on through this chat, if any (the latest one)."""
    return _open_ticket_messages(account_id, visitor_id).values_list("ticket_id", flat=True).first()


def visitor_reply_due_at(*, account_id: int, visitor_id: str) -> datetime | None:
    """When the visitor may expect a person's answer on their open ticket, by its SLA (one query).

    ``None`` when there is no such promise (no open ticket, no policy, no answer owed): the chat's own
    usual answer time applies then. Only a time: nothing about who will answer.
    """
    latest = _open_ticket_messages(account_id, visitor_id).values("ticket_id")[:1]
    ticket = Ticket.objects.filter(pk=Subquery(latest)).only("status", *SLA_DISPLAY_FIELDS).first()
    return customer_reply_due_at(ticket) if ticket is not None else None


def visitor_messages_by_id(*, visitor_id: str, message_ids: Iterable[int]) -> list[VisitorMessage]:
    """Those of ``message_ids`` the visitor may read, oldest first."""
    identity_id = _identity_id(visitor_id)
    if identity_id is None:
        return []
    rows = _visible_messages(identity_id).filter(pk__in=list(message_ids)).order_by("sent_at", "id")
    return [_as_visitor_message(row) for row in rows]


def visitor_catch_up(
    *, visitor_id: str, marks: dict[int, int], files: bool = False
) -> tuple[list[VisitorMessage], dict[int, int]]:
    """Messages created or changed after the widget's marks (``{ticket_id: seq}``), and the new marks.

    A ticket the widget has never seen comes whole (its last ``HISTORY_LIMIT`` messages); for the others
    only events after the mark are read, so a reconnect costs what was missed, not the history. With
    ``files`` every message with a stored file comes too.
    """
    identity_id = _identity_id(visitor_id)
    if identity_id is None:
        return [], {}
    ticket_ids = list(
        Message.objects.filter(identity_id=identity_id, direction__in=_VISIBLE)
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    seqs = dict(Ticket.objects.filter(pk__in=ticket_ids).values_list("pk", "seq"))
    whole: list[int] = []
    changed: set[int] = set()
    for ticket_id, seq in seqs.items():
        mark = marks.get(ticket_id, 0)
        if mark <= 0:
            whole.append(ticket_id)
        elif seq > mark:
            events = ticket_events_after(ticket_id=ticket_id, after_seq=mark, types=_MESSAGE_EVENTS)
            for payload in events.values_list("payload", flat=True):
                message_id = payload.get("id", payload.get("message_id"))
                if isinstance(message_id, int):
                    changed.add(message_id)
    wanted = Q(ticket_id__in=whole) | Q(pk__in=changed)
    if files:
        wanted |= Q(pk__in=Attachment.objects.exclude(file="").values("message_id"))
    rows = list(_visible_messages(identity_id).filter(wanted).order_by("-sent_at", "-id")[:HISTORY_LIMIT])
    rows.reverse()
    return [_as_visitor_message(row) for row in rows], seqs


def visitor_attachment(*, account_id: int, visitor_id: str, attachment_id: Any) -> Attachment | None:
    """A stored file of the visitor's own conversation on this chat, else ``None``."""
    identity_id = _identity_id(visitor_id)
    if identity_id is None:
        return None
    row = Attachment.objects.filter(
        pk=attachment_id, message__identity_id=identity_id, message__channel_account_id=account_id
    ).first()
    return row if row is not None and row.file else None


def agents_online(*, team_id: int | None) -> bool:
    """Whether an active agent is online (of ``team_id``, when given): what a chat may promise."""
    agents = AgentProfile.objects.filter(presence=AgentProfile.Presence.ONLINE, user__is_active=True)
    if team_id is not None:
        agents = agents.filter(teams=team_id)
    return agents.exists()
