"""What a channel reports about messages already filed: delivery and read statuses, edits, deletions
and reactions (the non-message items of ``tickets.inbound``).

Each is about one stored message, named by its provider id on the item's channel account. One that
names no message we hold is set aside with a reason code, never an error: providers report on
messages sent before a channel was connected, and re-deliver reports about ones since deleted.
Changes are made under the ticket's row lock (the order of its ``seq``) and each is an audit row,
published live after commit.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tickets import events
from tickets.inbound import (
    DeliveryState,
    DeliveryStatus,
    Filed,
    MessageDelete,
    MessageEdit,
    Reaction,
)
from tickets.models import Message, Ticket
from tickets.sanitize import html_sanitize
from tickets.services.bounces import bounce_reason, bounce_record, bounce_unmatched_reason
from tickets.services.messages import message_status_update

EDITED = "message.edited"
DELETED = "message.deleted"
REACTION = "message.reaction"

# How far a message we sent has got. A later status never moves it back: a "delivered" that arrives
# after "read" changes nothing, and a failure reported after delivery is stale news.
_PROGRESS: dict[str, int] = {
    Message.Status.QUEUED: 0,
    Message.Status.SENDING: 1,
    Message.Status.SENT: 2,
    Message.Status.FAILED: 3,
    Message.Status.DELIVERED: 4,
    Message.Status.READ: 5,
}
_STATUS_OF_STATE = {
    DeliveryState.DELIVERED: Message.Status.DELIVERED,
    DeliveryState.READ: Message.Status.READ,
    DeliveryState.FAILED: Message.Status.FAILED,
    DeliveryState.COMPLAINT: Message.Status.FAILED,
}


def delivery_status_file(*, status: DeliveryStatus) -> Filed:
    """Move our message on to the reported status: only forward, a failure with its reason."""
    if status.report is not None:
        # A report that came as a mail of its own (a bounce) is also kept on the timeline.
        entry, _created = bounce_record(status=status)
        if entry is None:
            return Filed(None, "bounce_unmatched", bounce_unmatched_reason(status))
        return Filed(entry.pk, ticket_id=entry.ticket_id)
    ids = [item for item in status.message_ids if item]
    found = (
        Message.objects.filter(
            channel_account_id=status.channel_account_id,
            direction=Message.Direction.OUTBOUND,
            external_id__in=ids,
        )
        .order_by("-sent_at", "-id")
        .first()
        if ids
        else None
    )
    if found is None:
        named = ", ".join(ids[:3]) or "no message id"
        return Filed(
            None,
            "status_unmatched",
            f"status_unmatched: a {status.state} status ({named}) about none of the messages "
            "this installation sent",
        )
    new = _STATUS_OF_STATE.get(status.state)
    if new is None:
        # Delayed, or a state this version does not know: nothing to change on the message.
        return Filed(found.pk, ticket_id=found.ticket_id)
    with transaction.atomic():
        Ticket.objects.select_for_update().filter(pk=found.ticket_id).first()
        message = Message.objects.select_related("ticket").get(pk=found.pk)
        if _PROGRESS.get(new, 0) > _PROGRESS.get(message.status, 0):
            reason = (
                bounce_reason(state=status.state, code=status.code, diagnostic=status.diagnostic)
                if new == Message.Status.FAILED
                else ""
            )
            message_status_update(message=message, status=new, reason=reason)
    return Filed(found.pk, ticket_id=found.ticket_id)


def _customer_message(account_id: int, external_id: str) -> Message | None:
    if not external_id:
        return None
    return Message.objects.filter(
        channel_account_id=account_id, external_id=external_id, direction=Message.Direction.INBOUND
    ).first()


def _locked(message: Message) -> tuple[Ticket, Message]:
    """The message's ticket, row-locked, and the message read again under that lock."""
    ticket = Ticket.objects.select_for_update().get(pk=message.ticket_id)
    return ticket, Message.objects.get(pk=message.pk)


def _unmatched(code: str, what: str, external_id: str) -> Filed:
    return Filed(
        None,
        code,
        f"{code}: {what} of a message ({external_id[:200] or 'no message id'}) "
        "this installation does not hold",
    )


def message_edit_file(*, edit: MessageEdit) -> Filed:
    """The customer changed a message: the new text replaces it, the previous one is kept."""
    found = _customer_message(edit.channel_account_id, edit.external_id)
    if found is None:
        return _unmatched("edit_unmatched", "an edit", edit.external_id)
    html = html_sanitize(edit.html) if edit.html else ""
    with transaction.atomic():
        ticket, message = _locked(found)
        if message.deleted_at is not None or (message.text == edit.text and message.html == html):
            # A re-delivered edit, or one of a message already withdrawn.
            return Filed(message.pk, ticket_id=message.ticket_id)
        edited_at = _moment(edit.edited_at)
        history = message.metadata.get("edits")
        previous = {
            "text": message.text,
            "html": message.html,
            "until": edited_at.isoformat(),
        }
        message.metadata = {
            **message.metadata,
            "edits": [*(history if isinstance(history, list) else []), previous],
        }
        message.text, message.html, message.edited_at = edit.text, html, edited_at
        message.save(update_fields=["text", "html", "edited_at", "metadata"])
        events.ticket_event_record(
            ticket=ticket,
            type=EDITED,
            data={"message_id": message.pk, "text": message.text, "edited_at": edited_at.isoformat()},
        )
    return Filed(message.pk, ticket_id=message.ticket_id)


def message_delete_file(*, delete: MessageDelete) -> Filed:
    """The customer withdrew a message: it stays, for the audit trail, marked deleted."""
    found = _customer_message(delete.channel_account_id, delete.external_id)
    if found is None:
        return _unmatched("delete_unmatched", "a deletion", delete.external_id)
    with transaction.atomic():
        ticket, message = _locked(found)
        if message.deleted_at is not None:
            return Filed(message.pk, ticket_id=message.ticket_id)
        message.deleted_at = _moment(delete.deleted_at)
        message.save(update_fields=["deleted_at"])
        events.ticket_event_record(
            ticket=ticket,
            type=DELETED,
            data={"message_id": message.pk, "deleted_at": message.deleted_at.isoformat()},
        )
    return Filed(message.pk, ticket_id=message.ticket_id)


def reaction_file(*, reaction: Reaction) -> Filed:
    """The customer put an emoji on a message (theirs or ours), or took it back."""
    found = (
        Message.objects.filter(
            channel_account_id=reaction.channel_account_id, external_id=reaction.external_id
        ).first()
        if reaction.external_id
        else None
    )
    if found is None:
        return _unmatched("reaction_unmatched", "a reaction to", reaction.external_id)
    mark = {"kind": reaction.sender.kind, "value": reaction.sender.value, "emoji": reaction.emoji}
    with transaction.atomic():
        ticket, message = _locked(found)
        stored = message.metadata.get("reactions")
        marks = [item for item in stored if isinstance(item, dict)] if isinstance(stored, list) else []
        present = mark in marks
        if present != reaction.removed:
            # Already there, or already gone: a re-delivery.
            return Filed(message.pk, ticket_id=message.ticket_id)
        marks = [item for item in marks if item != mark] if reaction.removed else [*marks, mark]
        message.metadata = {**message.metadata, "reactions": marks}
        message.save(update_fields=["metadata"])
        events.ticket_event_record(
            ticket=ticket,
            type=REACTION,
            data={
                "message_id": message.pk,
                "emoji": reaction.emoji,
                "added": not reaction.removed,
                "identity_kind": reaction.sender.kind,
                "identity_value": reaction.sender.value,
            },
        )
    return Filed(message.pk, ticket_id=message.ticket_id)


def _moment(value: datetime | None) -> datetime:
    return value if value is not None else timezone.now()


__all__ = [
    "DELETED",
    "EDITED",
    "REACTION",
    "delivery_status_file",
    "message_delete_file",
    "message_edit_file",
    "reaction_file",
]
