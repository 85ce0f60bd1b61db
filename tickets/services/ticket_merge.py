"""Merging one ticket into another, and taking it back out.

A merged ticket is closed and points at the ticket it went into (``merged_into``); its messages stay
where they are and the target's timeline shows them (``tickets.selectors.ticket_timeline``). Nothing
is copied, so undoing a merge is only a matter of reopening the source.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tickets import events
from tickets.models import Ticket, TicketEvent
from tickets.services.serialize import ticket_data

MERGED = "ticket.merged"
MERGED_IN = "ticket.merged_in"
UNMERGED = "ticket.unmerged"


def ticket_merge(
    *,
    source: Ticket,
    target: Ticket,
    actor: User | None,
    reason: str = "",
    contact_merge_id: int | None = None,
) -> Ticket:
    """Close ``source`` into ``target``; both tickets get an audit event naming the other.

    ``contact_merge_id`` names the contact merge that caused this one, so undoing it can find it.
    """
    if source.pk == target.pk:
        raise ValidationError("A ticket cannot be merged into itself.")
    with transaction.atomic():
        locked = {
            ticket.pk: ticket
            for ticket in Ticket.objects.select_for_update()
            .filter(pk__in=[source.pk, target.pk])
            .order_by("pk")
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id is not None:
            raise ValidationError(f"Ticket #{source.pk} is already merged into #{source.merged_into_id}.")
        if target.merged_into_id is not None:
            raise ValidationError(f"Ticket #{target.pk} was merged into #{target.merged_into_id}.")
        previous_status = source.status
        now = timezone.now()
        source.status = Ticket.Status.CLOSED
        source.solved_at = now
        source.merged_into = target
        source.updated_at = now
        _record_and_save(
            source,
            MERGED,
            {
                "into": target.pk,
                "previous_status": previous_status,
                "contact_merge_id": contact_merge_id,
                "ticket": ticket_data(source),
            },
            actor=actor,
            reason=reason,
            fields=["status", "solved_at", "merged_into", "updated_at", "seq"],
        )
        target.updated_at = now
        _record_and_save(
            target,
            MERGED_IN,
            {"from": source.pk, "ticket": ticket_data(target)},
            actor=actor,
            reason=reason,
            fields=["updated_at", "seq"],
        )
    return source


def ticket_unmerge(*, ticket: Ticket, actor: User | None, reason: str = "") -> Ticket:
    """Take a merged ticket back out and give it the status it had before the merge.

    If the contact has meanwhile got another open ticket, this one stays closed: a contact has at most
    one open ticket.
    """
    target_id = Ticket.objects.filter(pk=ticket.pk).values_list("merged_into_id", flat=True).first()
    if target_id is None:
        raise ValidationError(f"Ticket #{ticket.pk} is not merged.")
    with transaction.atomic():
        # Same lock order as ticket_merge (by id), so the two never deadlock.
        locked = {
            row.pk: row
            for row in Ticket.objects.select_for_update().filter(pk__in=[ticket.pk, target_id]).order_by("pk")
        }
        source, target = locked[ticket.pk], locked[target_id]
        if source.merged_into_id != target.pk:
            raise ValidationError(f"Ticket #{source.pk} is no longer merged into #{target.pk}.")
        merge_event = (
            TicketEvent.objects.filter(ticket=source, type=MERGED).order_by("-seq").values("payload").first()
        )
        payload: dict[str, Any] = merge_event["payload"] if merge_event is not None else {}
        previous_status = payload.get("previous_status", Ticket.Status.OPEN)
        if previous_status in Ticket.OPEN_STATUSES and source.split_from_id is None:
            # Only primaries exclude each other: a split ticket beside it does not keep it closed.
            other_open = Ticket.objects.primary_open(contact_id=source.contact_id).exclude(pk=source.pk)
            if other_open.exists():
                previous_status = Ticket.Status.CLOSED
        now = timezone.now()
        source.status = previous_status
        source.solved_at = None if previous_status in Ticket.OPEN_STATUSES else source.solved_at
        source.merged_into = None
        source.updated_at = now
        _record_and_save(
            source,
            UNMERGED,
            {"from": target.pk, "ticket": ticket_data(source)},
            actor=actor,
            reason=reason,
            fields=["status", "solved_at", "merged_into", "updated_at", "seq"],
        )
        target.updated_at = now
        _record_and_save(
            target,
            UNMERGED,
            {"ticket_id": source.pk, "ticket": ticket_data(target)},
            actor=actor,
            reason=reason,
            fields=["updated_at", "seq"],
        )
    return source


def _record_and_save(
    ticket: Ticket,
    event_type: str,
    data: dict[str, Any],
    *,
    actor: User | None,
    reason: str,
    fields: list[str],
) -> None:
    """Record one side's audit event (its next ``seq``) and save that side with its new ``seq``."""
    events.ticket_event_record(
        ticket=ticket, type=event_type, data=data, actor=actor, reason=reason, save_seq=False
    )
    ticket.save(update_fields=fields)
