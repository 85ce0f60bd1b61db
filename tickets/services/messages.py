"""Agent replies, internal notes and outbound delivery (ARCHITECTURE §5)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import events
from tickets.channel_port import (
    ALWAYS_OPEN,
    AdapterError,
    ChannelAccountLike,
    ReplyOffer,
    ReplyWindow,
    UnknownChannelKind,
    channel_for,
)
from tickets.models import ContactIdentity, Message, Ticket
from tickets.selectors import reply_sources
from tickets.services import sla
from tickets.services.outgoing_attachments import Upload, attachments_add, uploads_check

logger = logging.getLogger(__name__)

# The channel kind whose accounts reach customers at their email address.
_EMAIL_KIND = "email"


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def reply_target(
    *, ticket: Ticket, channel_account: ChannelAccountLike | None = None
) -> tuple[ChannelAccountLike, ContactIdentity]:
    """Where a reply goes: the identity the customer last wrote from (on ``channel_account`` if given)."""
    inbound = reply_sources(ticket=ticket).select_related("channel_account", "identity")
    if channel_account is not None:
        inbound = inbound.filter(channel_account_id=channel_account.pk)
    last = inbound.first()
    if last is None and channel_account is not None and channel_account.kind == _EMAIL_KIND:
        # A customer who has not mailed us yet but gave an address (a web-chat visitor asking to be
        # answered by email when nobody was online) is answered there; the ticket continues by email.
        address = _email_identity(ticket)
        if address is not None:
            return channel_account, address
    if last is None or last.channel_account is None or last.identity is None:
        raise ValidationError(
            "The customer has not written on that channel yet: there is nobody to reply to."
        )
    return last.channel_account, last.identity


def _email_identity(ticket: Ticket) -> ContactIdentity | None:
    from tickets.inbound import IdentityKind

    return (
        ContactIdentity.objects.filter(contact_id=ticket.contact_id, kind=IdentityKind.EMAIL, bounced_at=None)
        .order_by("-verified", "-created_at", "-id")
        .first()
    )


def reply_window_get(
    *, ticket: Ticket, account: ChannelAccountLike, identity: ContactIdentity
) -> ReplyWindow:
    """Whether the channel lets an agent reply to ``identity`` now (asked through the port)."""
    last_inbound_at = (
        Message.objects.filter(
            ticket__contact_id=ticket.contact_id,
            direction=Message.Direction.INBOUND,
            channel_account_id=account.pk,
            identity=identity,
        )
        .order_by("-sent_at", "-id")
        .values_list("sent_at", flat=True)
        .first()
    )
    return reply_window_of(account=account, identity=identity, last_inbound_at=last_inbound_at)


def reply_window_of(
    *, account: ChannelAccountLike, identity: ContactIdentity, last_inbound_at: datetime | None
) -> ReplyWindow:
    try:
        channel = channel_for(account.kind)
    except UnknownChannelKind:
        # Nothing to decide by: the delivery fails with its reason, as for any channel gone missing.
        return ALWAYS_OPEN
    return channel.reply_window(account=account, identity=identity, last_inbound_at=last_inbound_at)


def reply_window_refusal(window: ReplyWindow) -> str:
    """What an agent is told when a reply is refused because the channel's window has closed."""
    if window.outside == ReplyOffer.TEMPLATE:
        return _(
            "The reply window on this channel has closed: only an approved message template can be sent "
            "until the customer writes again. Reply on another channel, or add an internal note."
        )
    return _(
        "The reply window on this channel has closed: nothing can be sent on it until the customer "
        "writes again. Reply on another channel, or add an internal note."
    )


def message_send_reply(
    *,
    ticket: Ticket,
    author: User,
    text: str,
    html: str = "",
    channel_account: ChannelAccountLike | None = None,
    attachments: Sequence[Upload] = (),
) -> Message:
    """Queue an agent's reply; ``deliver_message`` sends it (with its files) after commit.

    ``attachments`` are checked first (``AttachmentRefused``): a refused reply stores nothing.
    """
    if not text.strip() and not attachments:
        raise ValidationError("A reply needs some text.")
    uploads_check(attachments)
    account, identity = reply_target(ticket=ticket, channel_account=channel_account)
    window = reply_window_get(ticket=ticket, account=account, identity=identity)
    if not window.open:
        raise ValidationError(reply_window_refusal(window))
    from tickets import tasks

    with transaction.atomic():
        ticket = _locked(ticket)
        now = timezone.now()
        # The stubs ask for the channel account's class, which the domain does not import (it knows the
        # account by the port's protocol); passing the instance keeps it cached for the live event.
        message = Message.objects.create(  # type: ignore[misc]
            ticket=ticket,
            direction=Message.Direction.OUTBOUND,
            channel_account=account,
            identity=identity,
            author=author,
            subject=ticket.subject,
            text=text,
            html=html,
            status=Message.Status.QUEUED,
            sent_at=now,
            created_at=now,
        )
        attachments_add(message=message, uploads=attachments)
        ticket.last_agent_message_at = now
        ticket.first_response_at = ticket.first_response_at or now
        ticket.awaiting_agent_since = None
        if ticket.status == Ticket.Status.NEW:
            ticket.status = Ticket.Status.OPEN
        ticket.updated_at = now
        events.message_event_record(ticket=ticket, message=message, actor=author)
        sla_moved = sla.sla_sync(ticket=ticket, at=now)
        ticket.save(
            update_fields=[
                "last_agent_message_at",
                "first_response_at",
                "awaiting_agent_since",
                "status",
                "updated_at",
                "seq",
                *(sla.SLA_FIELDS if sla_moved else ()),
            ]
        )
        if sla_moved:
            sla.sla_published(ticket)
        tasks.deliver_message.delay_on_commit(message.pk)
    return message


def note_add(*, ticket: Ticket, author: User, text: str, attachments: Sequence[Upload] = ()) -> Message:
    """An internal note: on the timeline for agents, never sent, never shown to the customer."""
    if not text.strip() and not attachments:
        raise ValidationError("A note needs some text.")
    uploads_check(attachments)
    with transaction.atomic():
        ticket = _locked(ticket)
        now = timezone.now()
        message = Message.objects.create(
            ticket=ticket,
            direction=Message.Direction.NOTE,
            author=author,
            text=text,
            status=Message.Status.SENT,
            sent_at=now,
            created_at=now,
        )
        attachments_add(message=message, uploads=attachments)
        ticket.updated_at = now
        events.message_event_record(ticket=ticket, message=message, actor=author)
        ticket.save(update_fields=["updated_at", "seq"])
    return message


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    retry_in: float | None = None


def backoff_seconds(attempt: int) -> float:
    return float(min(2**attempt, 600))


def message_deliver(*, message_id: int) -> DeliveryOutcome:
    """Send one queued message through its channel; safe to call twice (the claim is conditional)."""
    now = timezone.now()
    claimed = Message.objects.filter(pk=message_id, status=Message.Status.QUEUED).update(
        status=Message.Status.SENDING, attempts=F("attempts") + 1, status_changed_at=now
    )
    if not claimed:
        current = Message.objects.filter(pk=message_id).values_list("status", flat=True).first()
        return DeliveryOutcome(status=current or "missing")
    message = Message.objects.select_related("channel_account", "identity", "ticket", "author").get(
        pk=message_id
    )
    account = message.channel_account
    try:
        if account is None:
            raise AdapterError("message has no channel", permanent=True)
        result = channel_for(account.kind).send(account=account, message=message)
    except Exception as error:
        if isinstance(error, AdapterError):
            reason, permanent = str(error), error.permanent
        else:
            # An adapter bug must leave the message neither stuck in "sending" nor retried forever.
            logger.exception("adapter %s crashed sending message %s", account and account.kind, message.pk)
            reason, permanent = f"internal error: {type(error).__name__}", False
        if permanent or message.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            final = reason if permanent else f"gave up after {message.attempts} attempts: {reason}"
            _delivery_status_set(message, Message.Status.FAILED, reason=final)
            return DeliveryOutcome(status=Message.Status.FAILED)
        _delivery_retry_later(message, reason=reason)
        return DeliveryOutcome(status=Message.Status.QUEUED, retry_in=backoff_seconds(message.attempts))
    message.external_id = result.external_id or None
    if result.metadata:
        message.metadata = {**message.metadata, **result.metadata}
    _delivery_status_set(message, Message.Status.SENT)
    return DeliveryOutcome(status=Message.Status.SENT)


def _delivery_retry_later(message: Message, *, reason: str) -> None:
    """Back to the queue after a transient failure; agents see the reason while the retry waits."""
    with transaction.atomic():
        ticket = _locked(message.ticket)
        moved = Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
            status=Message.Status.QUEUED, failure_reason=reason, status_changed_at=timezone.now()
        )
        if moved:
            events.ticket_event_record(
                ticket=ticket,
                type="message.status",
                data={"message_id": message.pk, "status": Message.Status.QUEUED, "reason": reason},
            )


def message_status_update(*, message: Message, status: str, reason: str = "") -> None:
    """A provider's delivery receipt (delivered, read, failed) for a message we sent."""
    _delivery_status_set(message, status, reason=reason)


def _delivery_status_set(message: Message, status: str, *, reason: str = "") -> None:
    with transaction.atomic():
        ticket = _locked(message.ticket)
        message.status = status
        message.failure_reason = reason
        message.status_changed_at = timezone.now()
        fields = ["status", "failure_reason", "status_changed_at", "external_id", "metadata"]
        try:
            with transaction.atomic():
                message.save(update_fields=fields)
        except IntegrityError:
            # The provider reused an id we already hold on this channel; the send still happened, and
            # a stuck "sending" would only make it happen again.
            logger.warning("message %s: provider id %r is taken", message.pk, message.external_id)
            message.metadata = {**message.metadata, "duplicate_provider_id": message.external_id}
            message.external_id = None
            message.save(update_fields=fields)
        events.ticket_event_record(
            ticket=ticket,
            type="message.status",
            data={"message_id": message.pk, "status": status, "reason": reason},
        )


def message_retry(*, message: Message, actor: AbstractBaseUser) -> Message:
    """An agent asks to send a failed message again."""
    from tickets import tasks

    if message.status != Message.Status.FAILED:
        raise ValidationError("Only a failed message can be retried.")
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, status=Message.Status.FAILED).update(
            status=Message.Status.QUEUED, attempts=0, failure_reason="", status_changed_at=timezone.now()
        )
        tasks.deliver_message.delay_on_commit(message.pk)
    message.refresh_from_db()
    return message
