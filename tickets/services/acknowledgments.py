"""The automatic "we received your request" reply on a new ticket, where a channel asks for it.

Never to a machine (auto-replies, bounces: that is how mail loops start), never to an address that
bounced, and at most ``auto_reply_limit_per_hour`` automatic mails per address per hour.

It is queued when the new ticket is first triaged (``tickets.services.triage``), not while its message
is filed: only then is its SLA policy known, so the reply can name the time the agents are counting
down to ("We will answer you by …"); without a policy it names the channel's usual response time.
Triage also closes spam first, which is then never answered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from tickets import events
from tickets.channel_port import ChannelAccountLike
from tickets.models import Message, Ticket
from tickets.sla_display import customer_reply_due_at

_DEFAULT_LIMIT = 3


def _due_words(ticket: Ticket, due: datetime) -> str:
    """``due`` in the time zone of the policy's calendar (the desk's own without one), zone named."""
    policy = ticket.sla_policy if ticket.sla_policy_id else None
    calendar = policy.calendar if policy is not None and policy.calendar_id else None
    zone = calendar.time_zone if calendar is not None else settings.TIME_ZONE
    try:
        tz = ZoneInfo(zone)
    except (ValueError, KeyError):
        zone, tz = settings.TIME_ZONE, ZoneInfo(settings.TIME_ZONE)
    return f"{formats.date_format(timezone.localtime(due, tz), 'DATETIME_FORMAT')} ({zone})"


def acknowledgment_text(*, ticket: Ticket, response_time: str, now: datetime | None = None) -> str:
    lines = [
        _("Hello,"),
        "",
        _("we received your request “%(subject)s” and filed it as ticket %(token)s.")
        % {"subject": ticket.subject or _("(no subject)"), "token": ticket.token},
    ]
    due = customer_reply_due_at(ticket)
    if due is not None and due > (now or timezone.now()):
        lines.append(_("We will answer you by %(when)s.") % {"when": _due_words(ticket, due)})
    elif response_time:
        lines.append(_("We usually answer within %(time)s.") % {"time": response_time})
    lines += ["", _("To add details, just reply to this message.")]
    return "\n".join(lines)


def _over_limit(message: Message, limit: int) -> bool:
    since = timezone.now() - timedelta(hours=1)
    sent = Message.objects.filter(
        identity=message.identity,
        direction=Message.Direction.OUTBOUND,
        is_automatic=True,
        created_at__gte=since,
    ).count()
    return sent >= limit


def acknowledgment_for_new_ticket(*, ticket_id: int) -> Message | None:
    """Acknowledge the customer message that opened the ticket, once its first triage has run.

    The caller (triage) holds the ticket's row lock and calls this once in the ticket's life; the
    ticket's ``seq`` moves on here and is saved. A ticket split off another, or opened by anything but a
    customer's message on a channel, is not acknowledged.
    """
    message = (
        Message.objects.filter(
            ticket_id=ticket_id, direction=Message.Direction.INBOUND, channel_account__isnull=False
        )
        .select_related("channel_account", "identity")
        .order_by("sent_at", "id")
        .first()
    )
    # Most channels never acknowledge: one indexed read of the first message is all they cost triage.
    if message is None or not _acknowledges(message.channel_account):
        return None
    ticket = Ticket.objects.select_related("sla_policy__calendar").get(pk=ticket_id)
    if ticket.split_from_id is not None or not ticket.is_open:
        return None
    reply = acknowledgment_queue(ticket=ticket, message=message, account=message.channel_account)  # type: ignore[arg-type]
    if reply is not None:
        Ticket.objects.filter(pk=ticket.pk).update(seq=ticket.seq)
    return reply


def _acknowledges(account: ChannelAccountLike | None) -> bool:
    config = account.config if account is not None else None
    return isinstance(config, dict) and bool(config.get("acknowledge"))


def acknowledgment_queue(*, ticket: Ticket, message: Message, account: ChannelAccountLike) -> Message | None:
    """Queue the acknowledgment of ``message``, which opened ``ticket``; runs in the caller's
    transaction, and the send itself happens after commit. The caller saves the ticket's ``seq``."""
    from tickets import tasks

    config = account.config if isinstance(account.config, dict) else {}
    if not config.get("acknowledge") or message.is_automatic or message.identity is None:
        return None
    if message.identity.bounced_at is not None:
        return None
    limit = config.get("auto_reply_limit_per_hour", _DEFAULT_LIMIT)
    if not isinstance(limit, int) or _over_limit(message, limit):
        return None
    now = timezone.now()
    # The stubs ask for the channel account's class, which the domain does not import (it knows the
    # account by the port's protocol); passing the instance keeps it cached for the live event.
    reply = Message.objects.create(  # type: ignore[misc]
        ticket=ticket,
        direction=Message.Direction.OUTBOUND,
        channel_account=account,
        identity=message.identity,
        subject=ticket.subject,
        text=acknowledgment_text(
            ticket=ticket, response_time=str(config.get("acknowledge_response_time", ""))
        ),
        status=Message.Status.QUEUED,
        is_automatic=True,
        sent_at=now,
        created_at=now,
    )
    events.message_event_record(ticket=ticket, message=reply)
    tasks.deliver_message.delay_on_commit(reply.pk)
    return reply
