"""Small, stable dictionaries for live events and the audit trail (never secrets, never raw HTML)."""

from __future__ import annotations

from typing import Any

from tickets.models import Message, Ticket


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "team_id": ticket.team_id,
        "assignee_id": ticket.assignee_id,
        "contact_id": ticket.contact_id,
        "channel_id": ticket.origin_channel_id,
        "updated_at": ticket.updated_at.isoformat() if ticket.updated_at else None,
    }


def message_data(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "direction": message.direction,
        "channel_id": message.channel_account_id,
        "author_id": message.author_id,
        "text": message.text,
        "status": message.status,
        "is_public": message.is_public,
        "sent_at": message.sent_at.isoformat(),
    }
