"""Splitting a customer's message off into a new ticket of the same contact.

An agent splits when one conversation carries two cases ("…and my invoice is wrong too"). The message
and its attachments move to a new ticket linked to the original (``split_from``); both tickets get an
audit event naming the other, and the new one is routed like any new ticket.

A split ticket is a deliberate second open ticket of the contact: the one-open-ticket constraint covers
only tickets with ``split_from IS NULL``, so new customer messages keep joining the primary ticket.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.text import Truncator

from tickets import events
from tickets.models import Message, Ticket
from tickets.reasons import Reason
from tickets.services.serialize import ticket_data
from tickets.services.tickets import StaleUpdate

SPLIT = "ticket.split"
_SUBJECT_CHARS = 80


def split_subject(message: Message) -> str:
    """The message's own subject, else its first line of text, as a new ticket's subject."""
    if message.subject.strip():
        return message.subject.strip()[:300]
    first_line = next((line.strip() for line in message.text.splitlines() if line.strip()), "")
    return Truncator(first_line).chars(_SUBJECT_CHARS)


def message_split(
    *,
    message: Message,
    actor: User | None,
    expected_seq: int | None = None,
    reason: str = "",
) -> Ticket:
    """Move ``message`` (an inbound one) to a new ticket and return that ticket.

    ``expected_seq`` is the original ticket's ``seq`` as the agent saw it: if the ticket changed
    meanwhile the split is refused with ``StaleUpdate``, as ``ticket_update`` does.
    """
    from tickets import tasks

    if message.direction != Message.Direction.INBOUND:
        raise ValidationError("Only a customer's message can be split into a new ticket.")
    with transaction.atomic():
        original = Ticket.objects.select_for_update().get(pk=message.ticket_id)
        if expected_seq is not None and original.seq != expected_seq:
            raise StaleUpdate(f"Ticket #{original.pk} was changed by someone else; reload and try again.")
        if original.merged_into_id is not None:
            raise ValidationError(f"Ticket #{original.pk} is merged into #{original.merged_into_id}.")
        # Re-read under the ticket's lock: a concurrent split may have moved it already.
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.ticket_id != original.pk:
            raise StaleUpdate(f"That message was moved to ticket #{message.ticket_id} meanwhile.")
        if not Message.objects.filter(ticket=original).exclude(pk=message.pk).exists():
            raise ValidationError("This is the ticket's only message: there is nothing to split it from.")

        now = timezone.now()
        new = Ticket.objects.create(
            contact_id=original.contact_id,
            subject=split_subject(message) or original.subject,
            origin_channel_id=message.channel_account_id,
            team_id=original.team_id,
            language=original.language,
            split_from=original,
            last_customer_message_at=message.sent_at,
            awaiting_agent_since=message.sent_at,
            created_at=now,
            updated_at=now,
        )
        Message.objects.filter(pk=message.pk).update(ticket=new)
        _customer_times_recount(original)
        original.updated_at = now

        # The timeline reads the original's number back from this reason (``views.timeline``).
        split_reason = Reason("ticket.split_from", {"ticket": original.pk, "note": reason[:300]})
        events.ticket_event_record(
            ticket=original,
            type=SPLIT,
            data={"ticket_id": new.pk, "message_id": message.pk, "ticket": ticket_data(original)},
            actor=actor,
            reason=reason[:300],
            save_seq=False,
        )
        original.save(update_fields=["last_customer_message_at", "awaiting_agent_since", "updated_at", "seq"])
        events.ticket_event_record(
            ticket=new,
            type="ticket.created",
            data=ticket_data(new),
            actor=actor,
            reason=split_reason,
            save_seq=False,
        )
        new.save(update_fields=["seq"])
        tasks.routing_request([new.pk])
    return new


def _customer_times_recount(ticket: Ticket) -> None:
    """What the remaining customer messages say: the latest one, and the oldest still unanswered."""
    inbound = Message.objects.filter(ticket=ticket, direction=Message.Direction.INBOUND)
    unanswered = inbound.filter(is_automatic=False)
    if ticket.last_agent_message_at is not None:
        unanswered = unanswered.filter(sent_at__gt=ticket.last_agent_message_at)
    times = inbound.aggregate(latest=Max("sent_at"))
    ticket.last_customer_message_at = times["latest"]
    if ticket.awaiting_agent_since is not None:
        ticket.awaiting_agent_since = unanswered.aggregate(oldest=Min("sent_at"))["oldest"]
