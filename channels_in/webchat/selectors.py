"""What a visitor may read: only messages to and from their own web-chat identity, never a note."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Q

from channels_in.models import ChannelAccount
from channels_in.webchat.adapter import client_id_of
from channels_in.webchat.schemas import WebchatConfig
from tickets.inbound import IdentityKind
from tickets.models import AgentProfile, Attachment, ContactIdentity, Message, Ticket, TicketEvent

HISTORY_LIMIT = 200
_VISIBLE = [Message.Direction.INBOUND, Message.Direction.OUTBOUND]
_MESSAGE_EVENTS = ["message.created", "message.status"]
FILE_SALT = "sportello.webchat.file"


def visitor_identity(visitor_id: str) -> ContactIdentity | None:
    return ContactIdentity.objects.filter(kind=IdentityKind.WEBCHAT, value=visitor_id).first()


def visitor_open_ticket_id(*, account: ChannelAccount, visitor_id: str) -> int | None:
    """The open ticket the visitor is writing on through this chat, if any (the latest one)."""
    return (
        Message.objects.filter(
            channel_account=account,
            identity__kind=IdentityKind.WEBCHAT,
            identity__value=visitor_id,
            direction=Message.Direction.INBOUND,
            ticket__status__in=Ticket.OPEN_STATUSES,
        )
        .order_by("-sent_at", "-id")
        .values_list("ticket_id", flat=True)
        .first()
    )


def file_url(account: ChannelAccount, attachment_id: int, visitor_id: str) -> str:
    signed = signing.dumps({"a": attachment_id, "v": visitor_id}, salt=FILE_SALT)
    return f"/widget/{account.key}/files/{signed}"


def visitor_message(message: Message, account: ChannelAccount, visitor_id: str) -> dict[str, Any]:
    """A message as the widget shows it: no staff ids, no internal fields, agents by first name."""
    author = ""
    if message.direction == Message.Direction.OUTBOUND and message.author is not None:
        author = message.author.first_name or message.author.get_username()
    return {
        "id": message.pk,
        "ticket_id": message.ticket_id,
        "client_id": client_id_of(message.external_id)
        if message.direction == Message.Direction.INBOUND
        else "",
        "direction": "in" if message.direction == Message.Direction.INBOUND else "out",
        "text": message.text,
        "status": message.status,
        "sent_at": message.sent_at.isoformat(),
        "author": author,
        "attachments": [
            {
                "name": item.filename,
                "type": item.content_type,
                "size": item.size,
                "url": file_url(account, item.pk, visitor_id) if item.file else "",
            }
            for item in message.attachments.all()
        ],
    }


def _visible_messages(identity_id: int) -> Any:
    return (
        Message.objects.filter(identity_id=identity_id, direction__in=_VISIBLE)
        .select_related("author")
        .prefetch_related("attachments")
    )


def visitor_messages_by_id(
    *, account: ChannelAccount, visitor_id: str, message_ids: list[int]
) -> list[dict[str, Any]]:
    identity = visitor_identity(visitor_id)
    if identity is None:
        return []
    rows = _visible_messages(identity.pk).filter(pk__in=message_ids).order_by("sent_at", "id")
    return [visitor_message(row, account, visitor_id) for row in rows]


def visitor_catch_up(
    *, account: ChannelAccount, visitor_id: str, marks: dict[int, int], files: bool = False
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """Messages created or changed after the widget's marks (``{ticket_id: seq}``), and the new marks.

    A ticket the widget has never seen comes whole (its last ``HISTORY_LIMIT`` messages); for the others
    only events after the mark are read, so a reconnect costs what was missed, not the history. With
    ``files`` every message with a stored file comes too, its links signed anew (they live minutes).
    """
    identity = visitor_identity(visitor_id)
    if identity is None:
        return [], {}
    ticket_ids = list(
        Message.objects.filter(identity_id=identity.pk, direction__in=_VISIBLE)
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
            for payload in TicketEvent.objects.filter(
                ticket_id=ticket_id, seq__gt=mark, type__in=_MESSAGE_EVENTS
            ).values_list("payload", flat=True):
                message_id = payload.get("id", payload.get("message_id"))
                if isinstance(message_id, int):
                    changed.add(message_id)
    wanted = Q(ticket_id__in=whole) | Q(pk__in=changed)
    if files:
        wanted |= Q(pk__in=Attachment.objects.exclude(file="").values("message_id"))
    rows = list(_visible_messages(identity.pk).filter(wanted).order_by("-sent_at", "-id")[:HISTORY_LIMIT])
    rows.reverse()
    return [visitor_message(row, account, visitor_id) for row in rows], seqs


def availability(account: ChannelAccount, config: WebchatConfig, now: datetime) -> dict[str, Any]:
    """Open hours and agents online, as the widget tells the visitor (never who is online)."""
    is_open = config.open_at(now)
    agents = AgentProfile.objects.filter(presence=AgentProfile.Presence.ONLINE, user__is_active=True)
    if account.default_team_id is not None:
        agents = agents.filter(teams=account.default_team_id)
    online = is_open and agents.exists()
    return {
        "online": online,
        "open": is_open,
        "response_minutes": config.response_minutes,
        "email_fallback": bool(config.fallback_mailbox),
    }
