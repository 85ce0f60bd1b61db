"""The automatic "we received your request" reply on a new ticket, where a channel asks for it.

Never to a machine (auto-replies, bounces: that is how mail loops start), never to an address that
bounced, and at most ``auto_reply_limit_per_hour`` automatic mails per address per hour.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import events
from tickets.channel_port import ChannelAccountLike
from tickets.models import Message, Ticket

_DEFAULT_LIMIT = 3


def acknowledgment_text(*, ticket: Ticket, response_time: str) -> str:
    lines = [
        _("Hello,"),
        "",
        _("we received your request “%(subject)s” and filed it as ticket %(token)s.")
        % {"subject": ticket.subject or _("(no subject)"), "token": ticket.token},
    ]
    if response_time:
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


def acknowledgment_queue(*, ticket: Ticket, message: Message, account: ChannelAccountLike) -> Message | None:
    """Queue the acknowledgment of ``message``, which just opened ``ticket``; runs in the caller's
    transaction (the ingest), and the send itself happens after commit."""
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
