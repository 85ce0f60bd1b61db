"""The one write path for customer messages (ARCHITECTURE §4)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets import events
from tickets.channel_port import ChannelAccountLike, channel_account_get
from tickets.inbound import InboundMessage
from tickets.models import Contact, ContactIdentity, Message, Ticket
from tickets.reasons import Reason
from tickets.services.attachments import attachments_store
from tickets.services.identities import contact_resolve, live_contact
from tickets.services.serialize import ticket_data

logger = logging.getLogger(__name__)

_ATTEMPTS = 4


@dataclass(frozen=True)
class IngestResult:
    message: Message
    ticket: Ticket
    created: bool
    ticket_created: bool = False
    ticket_reopened: bool = False


def ingest_inbound_message(
    *, inbound: InboundMessage, account: ChannelAccountLike | None = None
) -> IngestResult:
    """File one customer message into its contact's ticket, exactly once.

    One transaction: dedupe, contact, ticket, message, audit. A concurrent writer that wins a unique
    constraint makes this attempt roll back and start again, when it finds that writer's rows.
    ``account`` is the message's channel account when the caller has it loaded already.
    """
    if account is None or account.pk != inbound.channel_account_id:
        account = channel_account_get(inbound.channel_account_id)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with transaction.atomic():
                # A message is filed twice only on a re-delivery, and the unique key on
                # (channel_account, external_id) refuses the second copy anyway: the first attempt
                # skips the look-up and a refused insert sends the retry through it.
                return _ingest(inbound, account, look_for_duplicate=attempt > 1)
        except IntegrityError:
            if attempt == _ATTEMPTS:
                raise
            logger.info(
                "ingest of %s met a unique key (copy or concurrent writer); retrying", inbound.external_id
            )
    raise AssertionError("unreachable")


def _ingest(
    inbound: InboundMessage, account: ChannelAccountLike, *, look_for_duplicate: bool
) -> IngestResult:
    if inbound.external_id and look_for_duplicate:
        duplicate = (
            Message.objects.filter(
                channel_account_id=inbound.channel_account_id, external_id=inbound.external_id
            )
            .select_related("ticket")
            .first()
        )
        if duplicate is not None:
            return IngestResult(message=duplicate, ticket=duplicate.ticket, created=False)

    contact, identity, new_contact = contact_resolve(
        sender=inbound.sender, others=inbound.other_identities, name=inbound.sender_name
    )
    if new_contact:
        # Nobody else can see a contact before this transaction commits: it has no ticket yet.
        ticket, created, reopened = _ticket_create(inbound, account, contact, previous=None), True, False
    else:
        ticket, created, reopened = _ticket_for(inbound, account, contact)
    now = timezone.now()
    message = inbound_message_row(inbound, account, ticket=ticket, identity=identity, now=now)
    message.save(force_insert=True)
    if inbound.attachments:
        attachments_store(message=message, attachments=inbound.attachments)
    ticket_takes_message(ticket, message, now)
    if created:
        events.ticket_event_record(
            ticket=ticket, type="ticket.created", data=ticket_data(ticket), save_seq=False
        )
    elif reopened:
        events.ticket_event_record(
            ticket=ticket,
            type="ticket.reopened",
            data=ticket_data(ticket),
            reason=Reason("ticket.customer_wrote_again"),
            save_seq=False,
        )
    events.message_event_record(ticket=ticket, message=message)
    ticket.save(
        update_fields=[
            "last_customer_message_at",
            "awaiting_agent_since",
            "status",
            "updated_at",
            "seq",
        ]
    )
    after_filing(
        ticket=ticket,
        message=message,
        ticket_is_new=created or reopened,
        fetch_attachments=any(att.url and att.content is None for att in inbound.attachments),
    )
    return IngestResult(
        message=message, ticket=ticket, created=True, ticket_created=created, ticket_reopened=reopened
    )


def inbound_message_row(
    inbound: InboundMessage,
    account: ChannelAccountLike,
    *,
    ticket: Ticket,
    identity: ContactIdentity,
    now: datetime,
) -> Message:
    """The unsaved ``Message`` for a customer message filed on ``ticket``."""
    return Message(
        ticket=ticket,
        direction=Message.Direction.INBOUND,
        # The relation's model is the channel account the port describes; it lives in the app this one
        # may not import, so the checker cannot match the two.
        channel_account=account,  # type: ignore[misc]
        identity=identity,
        subject=inbound.subject[:300],
        text=inbound.text,
        html=inbound.html,
        full_text=inbound.full_text,
        external_id=inbound.external_id or None,
        status=Message.Status.RECEIVED,
        is_public=inbound.is_public,
        is_automatic=inbound.is_automatic,
        sent_at=inbound.sent_at or now,
        created_at=now,
        status_changed_at=now,
        metadata=dict(inbound.metadata),
    )


def ticket_takes_message(ticket: Ticket, message: Message, now: datetime) -> None:
    """What one more customer message does to its ticket's state (saved by the caller)."""
    sent_at = message.sent_at
    ticket.last_customer_message_at = max(filter(None, [ticket.last_customer_message_at, sent_at]))
    if ticket.awaiting_agent_since is None and not message.is_automatic:
        ticket.awaiting_agent_since = sent_at
    if ticket.status == Ticket.Status.PENDING and not message.is_automatic:
        ticket.status = Ticket.Status.OPEN
    ticket.updated_at = now


def _ticket_for(
    inbound: InboundMessage, account: ChannelAccountLike, contact: Contact
) -> tuple[Ticket, bool, bool]:
    """The contact's open ticket, else a reopened recent one, else a new (follow-up) ticket.

    A reply in the thread of a ticket split off the open one (its token, or a reference to one of its
    mails) joins that ticket instead: the customer is answering about that case.
    """
    split = _referenced_open_split(inbound, contact)
    if split is not None:
        return split, False, False
    # Most messages join an open ticket, and its row lock alone orders them (and their ``seq``).
    open_ticket = _open_ticket(contact)
    if open_ticket is not None:
        return open_ticket, False, False
    # One writer per contact decides "reopen or create": the partial unique constraint backs it. A writer
    # we waited for may have just opened a ticket, so look again once the lock is ours.
    merged_into_id = (
        Contact.objects.select_for_update()
        .filter(pk=contact.pk)
        .values_list("merged_into_id", flat=True)
        .first()
    )
    if merged_into_id is not None:
        # A merge committed after the contact was resolved: the customer now lives on the target contact.
        return _ticket_for(inbound, account, live_contact(Contact.objects.get(pk=merged_into_id)))
    open_ticket = _open_ticket(contact)
    if open_ticket is not None:
        return open_ticket, False, False
    previous = _referenced_ticket(inbound, contact) or (
        Ticket.objects.filter(contact=contact).order_by("-created_at", "-id").first()
    )
    window = timedelta(days=settings.REOPEN_WINDOW_DAYS)
    if (
        previous is not None
        and previous.status == Ticket.Status.SOLVED
        and previous.merged_into_id is None
        and previous.solved_at is not None
        and timezone.now() - previous.solved_at <= window
    ):
        Ticket.objects.select_for_update().filter(pk=previous.pk).first()
        previous.status = Ticket.Status.OPEN
        previous.solved_at = None
        previous.reopened_count += 1
        previous.save(update_fields=["status", "solved_at", "reopened_count"])
        return previous, False, True
    return _ticket_create(inbound, account, contact, previous=previous), True, False


def _open_ticket(contact: Contact) -> Ticket | None:
    return Ticket.objects.select_for_update().primary_open(contact=contact).first()


def _referenced_open_split(inbound: InboundMessage, contact: Contact) -> Ticket | None:
    if not (inbound.ticket_token or inbound.thread_refs):
        return None
    referenced = _referenced_ticket(inbound, contact)
    if referenced is None or referenced.split_from_id is None or not referenced.is_open:
        return None
    # Locked, and read again under the lock: it may have been solved or merged meanwhile.
    return (
        Ticket.objects.select_for_update()
        .filter(pk=referenced.pk, status__in=Ticket.OPEN_STATUSES, merged_into__isnull=True)
        .first()
    )


def _ticket_create(
    inbound: InboundMessage, account: ChannelAccountLike, contact: Contact, *, previous: Ticket | None
) -> Ticket:
    ticket = ticket_row(inbound, account, contact, previous=previous)
    ticket.save(force_insert=True)
    return ticket


def ticket_row(
    inbound: InboundMessage, account: ChannelAccountLike, contact: Contact, *, previous: Ticket | None
) -> Ticket:
    """The unsaved new ticket a customer message opens."""
    return Ticket(
        contact=contact,
        subject=(inbound.subject or _subject_from_text(inbound.text))[:300],
        origin_channel=account,  # type: ignore[misc]  # as Message.channel_account above
        team_id=account.default_team_id,
        follow_up_of=previous,
        language=contact.language,
    )


def _referenced_ticket(inbound: InboundMessage, contact: Contact) -> Ticket | None:
    """A ticket the message points at (token or thread references), only if it is this contact's."""
    candidates = Ticket.objects.filter(contact=contact)
    if inbound.ticket_token:
        ticket = candidates.filter(token=inbound.ticket_token).first()
        if ticket is not None:
            return ticket
    if inbound.thread_refs:
        referenced = (
            Message.objects.filter(external_id__in=inbound.thread_refs, ticket__contact=contact)
            .order_by("-sent_at")
            .values_list("ticket_id", flat=True)
            .first()
        )
        if referenced is not None:
            return candidates.filter(pk=referenced).first()
    return None


def _subject_from_text(text: str) -> str:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first_line if len(first_line) <= 80 else first_line[:77] + "..."


def after_filing(*, ticket: Ticket, message: Message, ticket_is_new: bool, fetch_attachments: bool) -> None:
    """What follows a filed message once the transaction commits: routing a new ticket, fetching files."""
    from tickets import tasks

    if ticket_is_new:
        tasks.routing_request([ticket.pk])
    elif ticket.sla_policy_id is not None:
        tasks.sla_sync_request([ticket.pk])
    if fetch_attachments:
        tasks.fetch_attachments.delay_on_commit(message.pk)


__all__ = [
    "IngestResult",
    "after_filing",
    "inbound_message_row",
    "ingest_inbound_message",
    "ticket_row",
    "ticket_takes_message",
]
