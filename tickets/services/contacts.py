"""Merging two contacts that are the same customer, and undoing it (ARCHITECTURE §3).

A merge moves every identity and every ticket of the source onto the target and marks the source
``merged_into`` the target, so later messages from any of those identities land on the target. What
moved is recorded in ``ContactMerge``, which is what an undo moves back.

A contact has at most one open ticket. When both have one, the source's open ticket is merged into the
target's (``ticket_merge``): it is closed, its messages stay on it and show on the target's timeline.
Undo reopens it with its old status, unless the source has got another open ticket meanwhile.

Messages received after the merge stay on the ticket they were filed to; undo does not split them.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tickets import events
from tickets.models import Contact, ContactIdentity, ContactMerge, MergeSuggestion, Ticket, TicketEvent
from tickets.services.serialize import ticket_data
from tickets.services.ticket_merge import MERGED, ticket_merge, ticket_unmerge

CONTACT_CHANGED = "ticket.contact_changed"
MERGE_UNDONE = "ticket.contact_merge_undone"


def _lock_contacts(*pks: int) -> dict[int, Contact]:
    # Always in id order, the order ingest and other merges lock contacts in too: no deadlocks.
    return {
        contact.pk: contact
        for contact in Contact.objects.select_for_update().filter(pk__in=pks).order_by("pk")
    }


def contact_open_ticket(*, contact: Contact) -> Ticket | None:
    return Ticket.objects.primary_open(contact=contact).first()


def contact_merge(*, source: Contact, target: Contact, actor: User | None, reason: str = "") -> ContactMerge:
    """Fold ``source`` into ``target`` and record what moved so ``contact_merge_undo`` can move it back."""
    if source.pk == target.pk:
        raise ValidationError("A contact cannot be merged into itself.")
    with transaction.atomic():
        locked = _lock_contacts(source.pk, target.pk)
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id is not None:
            raise ValidationError(f"Contact #{source.pk} is already merged into #{source.merged_into_id}.")
        if target.merged_into_id is not None:
            raise ValidationError(
                f"Contact #{target.pk} was merged into #{target.merged_into_id}; merge into that one."
            )
        merge = ContactMerge.objects.create(
            source=source, target=target, reason=reason[:200], created_by=actor
        )

        source_tickets = list(Ticket.objects.select_for_update().filter(contact=source).order_by("pk"))
        source_open = next(
            (ticket for ticket in source_tickets if ticket.is_open and ticket.split_from_id is None), None
        )
        target_open = contact_open_ticket(contact=target)
        if source_open is not None and target_open is not None:
            # Closing it first keeps the one-open-ticket constraint true when it changes contact.
            ticket_merge(
                source=source_open,
                target=target_open,
                actor=actor,
                reason=f"contacts merged: #{source.pk} into #{target.pk}",
                contact_merge_id=merge.pk,
            )

        identity_ids = list(ContactIdentity.objects.filter(contact=source).values_list("pk", flat=True))
        ContactIdentity.objects.filter(pk__in=identity_ids).update(contact=target)
        ticket_ids = [ticket.pk for ticket in source_tickets]
        _tickets_move(ticket_ids, from_contact=source, to_contact=target, actor=actor)

        source.merged_into = target
        source.save(update_fields=["merged_into", "updated_at"])
        MergeSuggestion.objects.filter(
            contact_id__in=[source.pk, target.pk], candidate_id__in=[source.pk, target.pk], dismissed_at=None
        ).update(dismissed_at=timezone.now())
        merge.moved_identity_ids = identity_ids
        merge.moved_ticket_ids = ticket_ids
        merge.save(update_fields=["moved_identity_ids", "moved_ticket_ids"])
    return merge


def contact_merge_undo(*, merge: ContactMerge, actor: User | None) -> ContactMerge:
    """Move back what ``merge`` moved and make the source a contact of its own again."""
    with transaction.atomic():
        merge = ContactMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at is not None:
            raise ValidationError("This merge was already undone.")
        locked = _lock_contacts(merge.source_id, merge.target_id)
        source, target = locked[merge.source_id], locked[merge.target_id]
        if source.merged_into_id != target.pk:
            raise ValidationError(f"Contact #{source.pk} is no longer merged into #{target.pk}.")
        if target.merged_into_id is not None:
            raise ValidationError(
                f"Contact #{target.pk} was since merged into #{target.merged_into_id}; undo that merge first."
            )

        ContactIdentity.objects.filter(pk__in=merge.moved_identity_ids, contact=target).update(contact=source)
        ticket_ids = list(
            Ticket.objects.filter(pk__in=merge.moved_ticket_ids, contact=target).values_list("pk", flat=True)
        )
        _tickets_move(ticket_ids, from_contact=target, to_contact=source, actor=actor)
        for merged in _tickets_merged_by(merge, ticket_ids):
            ticket_unmerge(ticket=merged, actor=actor, reason=f"contact merge #{merge.pk} undone")

        source.merged_into = None
        source.save(update_fields=["merged_into", "updated_at"])
        merge.undone_at = timezone.now()
        merge.save(update_fields=["undone_at"])
        _target_tickets_tell(merge, actor=actor)
    return merge


def _target_tickets_tell(merge: ContactMerge, *, actor: User | None) -> None:
    """An audit event on the target's open tickets: their screens show the contact as it is now."""
    for ticket in (
        Ticket.objects.select_for_update()
        .filter(contact_id=merge.target_id, status__in=Ticket.OPEN_STATUSES)
        .order_by("pk")
    ):
        events.ticket_event_record(
            ticket=ticket,
            type=MERGE_UNDONE,
            data={"merge_id": merge.pk, "source_id": merge.source_id, "ticket": ticket_data(ticket)},
            actor=actor,
        )


def _tickets_move(
    ticket_ids: list[int], *, from_contact: Contact, to_contact: Contact, actor: User | None
) -> None:
    """Give the tickets another contact, one audit event each (their screens show the new customer)."""
    for ticket in Ticket.objects.select_for_update().filter(pk__in=ticket_ids).order_by("pk"):
        ticket.contact = to_contact
        ticket.updated_at = timezone.now()
        events.ticket_event_record(
            ticket=ticket,
            type=CONTACT_CHANGED,
            data={"from": from_contact.pk, "to": to_contact.pk, "ticket": ticket_data(ticket)},
            actor=actor,
            save_seq=False,
        )
        ticket.save(update_fields=["contact", "updated_at", "seq"])


def _tickets_merged_by(merge: ContactMerge, ticket_ids: list[int]) -> list[Ticket]:
    merged = Ticket.objects.filter(pk__in=ticket_ids, merged_into__isnull=False)
    caused = TicketEvent.objects.filter(
        ticket__in=merged, type=MERGED, payload__contact_merge_id=merge.pk
    ).values_list("ticket_id", flat=True)
    return list(Ticket.objects.filter(pk__in=list(caused)).order_by("pk"))
