"""What the widget shows a visitor, read through the domain's visitor selectors and put in its wire shape.

The domain decides what a visitor may read (``tickets.visitor_selectors``: only their own messages,
never a note); this module only formats it for the widget: the client id the widget sent, signed file
links, open hours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core import signing

from channels_in.models import ChannelAccount
from channels_in.webchat.adapter import client_id_of
from channels_in.webchat.schemas import WebchatConfig
from tickets import visitor_selectors
from tickets.visitor_selectors import VisitorMessage

FILE_SALT = "sportello.webchat.file"


def visitor_open_ticket_id(*, account: ChannelAccount, visitor_id: str) -> int | None:
    """The open ticket the visitor is writing on through this chat, if any (the latest one)."""
    return visitor_selectors.visitor_open_ticket_id(account_id=account.pk, visitor_id=visitor_id)


def file_url(account: ChannelAccount, attachment_id: int, visitor_id: str) -> str:
    signed = signing.dumps({"a": attachment_id, "v": visitor_id}, salt=FILE_SALT)
    return f"/widget/{account.key}/files/{signed}"


def visitor_message(message: VisitorMessage, account: ChannelAccount, visitor_id: str) -> dict[str, Any]:
    """A message as the widget shows it."""
    return {
        "id": message.id,
        "ticket_id": message.ticket_id,
        "client_id": client_id_of(message.external_id) if message.inbound else "",
        "direction": "in" if message.inbound else "out",
        "text": message.text,
        "status": message.status,
        "sent_at": message.sent_at.isoformat(),
        "author": message.author,
        "attachments": [
            {
                "name": item.name,
                "type": item.content_type,
                "size": item.size,
                "url": file_url(account, item.id, visitor_id) if item.stored else "",
            }
            for item in message.files
        ],
    }


def visitor_messages_by_id(
    *, account: ChannelAccount, visitor_id: str, message_ids: list[int]
) -> list[dict[str, Any]]:
    rows = visitor_selectors.visitor_messages_by_id(visitor_id=visitor_id, message_ids=message_ids)
    return [visitor_message(row, account, visitor_id) for row in rows]


def visitor_catch_up(
    *, account: ChannelAccount, visitor_id: str, marks: dict[int, int], files: bool = False
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """Messages created or changed after the widget's marks (``{ticket_id: seq}``), and the new marks.

    With ``files`` every message with a stored file comes too, its links signed anew (they live minutes).
    """
    rows, seqs = visitor_selectors.visitor_catch_up(visitor_id=visitor_id, marks=marks, files=files)
    return [visitor_message(row, account, visitor_id) for row in rows], seqs


def availability(
    account: ChannelAccount, config: WebchatConfig, now: datetime, *, visitor_id: str = ""
) -> dict[str, Any]:
    """Open hours and agents online, as the widget tells the visitor (never who is online).

    ``reply_due_at`` is when the visitor's open ticket is due an answer by its SLA, the promise the
    agents see counted down; without one the widget falls back on ``response_minutes``.
    """
    is_open = config.open_at(now)
    online = is_open and visitor_selectors.agents_online(team_id=account.default_team_id)
    due = (
        visitor_selectors.visitor_reply_due_at(account_id=account.pk, visitor_id=visitor_id)
        if visitor_id
        else None
    )
    return {
        "online": online,
        "open": is_open,
        "response_minutes": config.response_minutes,
        "reply_due_at": due.isoformat() if due is not None else None,
        "email_fallback": bool(config.fallback_mailbox),
    }
