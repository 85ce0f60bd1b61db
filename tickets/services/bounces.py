"""Delivery reports about mail we sent: news for the failed message and the address, never a ticket."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tickets import events
from tickets.inbound import DeliveryReport, DeliveryState, DeliveryStatus, IdentityKind
from tickets.models import ContactIdentity, Message, Ticket
from tickets.services.messages import message_status_update
from tickets.services.serialize import message_data

logger = logging.getLogger(__name__)

# A report naming only the address is matched to our latest mail to it, if that mail is this recent.
_RECENT_SEND = timedelta(days=7)


def _failed_message(status: DeliveryStatus, recipients: list[str]) -> Message | None:
    outbound = Message.objects.filter(direction=Message.Direction.OUTBOUND).select_related(
        "ticket", "identity"
    )
    ids = [item for item in [*status.message_ids, *status.thread_refs] if item]
    if ids:
        found = outbound.filter(external_id__in=ids).order_by("-sent_at").first()
        if found is not None:
            return found
    if recipients:
        return (
            outbound.filter(
                channel_account_id=status.channel_account_id,
                identity__kind=IdentityKind.EMAIL,
                identity__value__in=recipients,
                sent_at__gte=timezone.now() - _RECENT_SEND,
            )
            .order_by("-sent_at", "-id")
            .first()
        )
    return None


def bounce_reason(*, state: str, code: str = "", diagnostic: str = "") -> str:
    """The failure reason an agent reads on the message, from a delivery status's state and words."""
    detail = " ".join([code, diagnostic]).strip()
    if state == DeliveryState.COMPLAINT:
        return "the recipient reported the mail as spam"
    label = "delivery delayed" if state == DeliveryState.DELAYED else "delivery failed"
    return f"{label}: {detail}" if detail else label


def bounce_unmatched_reason(status: DeliveryStatus) -> str:
    about = ", ".join(status.recipients[:5]) or "no recipient named"
    return (
        f"bounce_unmatched: a delivery report ({status.state or 'failed'}; {about}) "
        f"about none of the mails this installation sent"
    )


def bounce_record(*, status: DeliveryStatus) -> tuple[Message | None, bool]:
    """Record a bounce on the address and on our failed message; returns (timeline entry, created).

    ``status`` came as a report of its own (``status.report``, a delivery-status mail). A permanent
    failure marks the identity bounced and the outbound message failed (shown live to the agent). The
    report itself joins the failed message's ticket as a system entry, so the agent sees why; with no
    ticket to join it stays only on its inbound event.
    """
    report = status.report or DeliveryReport()
    if report.external_id:
        existing = Message.objects.filter(
            channel_account_id=status.channel_account_id, external_id=report.external_id
        ).first()
        if existing is not None:
            return existing, False
    recipients = [item.lower() for item in status.recipients]
    state = status.state or DeliveryState.FAILED
    permanent = state in DeliveryState.PERMANENT_FAILURES
    reason = bounce_reason(state=state, code=status.code, diagnostic=status.diagnostic)
    failed = _failed_message(status, recipients)
    if failed is not None and failed.identity is not None and failed.identity.kind == IdentityKind.EMAIL:
        recipients = recipients or [failed.identity.value]
    now = timezone.now()
    with transaction.atomic():
        if permanent and recipients:
            ContactIdentity.objects.filter(kind=IdentityKind.EMAIL, value__in=recipients).update(
                bounced_at=now, bounce_reason=reason[:1000]
            )
        if failed is None:
            logger.info("bounce %s matched none of our messages", report.external_id)
            return None, False
        if permanent and failed.status != Message.Status.FAILED:
            message_status_update(message=failed, status=Message.Status.FAILED, reason=reason)
        ticket = Ticket.objects.select_for_update().get(pk=failed.ticket_id)
        entry = Message.objects.create(
            ticket=ticket,
            direction=Message.Direction.SYSTEM,
            channel_account_id=status.channel_account_id,
            identity=failed.identity,
            subject=report.subject[:300],
            text=f"{reason} ({', '.join(recipients) or 'unknown recipient'})",
            full_text=report.full_text,
            external_id=report.external_id or None,
            status=Message.Status.RECEIVED,
            is_automatic=True,
            sent_at=report.sent_at or now,
            created_at=now,
            metadata={**report.metadata, "failed_message_id": failed.pk},
        )
        events.ticket_event_record(ticket=ticket, type="message.created", data=message_data(entry))
    return entry, True
