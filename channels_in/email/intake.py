"""The one door every raw mail goes through, whichever way it came (IMAP, ESP webhook, MTA pipe)."""

from __future__ import annotations

from django.utils import timezone

from channels_in.base import RoutedEvent
from channels_in.email.parse import message_id_of
from channels_in.inbound import Recorded, inbound_event_record
from channels_in.models import ChannelAccount, InboundEvent

CONTENT_TYPE = "message/rfc822"


def mail_event_id(raw: bytes) -> str:
    """The same mail arriving twice (IMAP re-poll, ESP retry, both paths) is one event."""
    return f"mail:{message_id_of(raw)}"[:300]


def mail_routed(*, account: ChannelAccount, raw: bytes, source: str) -> RoutedEvent:
    """One raw mail as the event it is stored as, saying which way it came."""
    return RoutedEvent(
        account=account,
        provider_event_id=mail_event_id(raw),
        body=raw,
        content_type=CONTENT_TYPE,
        headers={"x-sportello-source": source},
    )


def mail_record(
    *, account: ChannelAccount, raw: bytes, headers: dict[str, str] | None = None, source: str
) -> Recorded:
    routed = mail_routed(account=account, raw=raw, source=source)
    return inbound_event_record(
        account=account,
        body=raw,
        headers={**(headers or {}), **routed.headers},
        content_type=routed.content_type,
        provider_event_id=routed.provider_event_id,
    )


def mail_reject(
    *, account: ChannelAccount, head: bytes, reason: str, headers: dict[str, str], source: str
) -> InboundEvent:
    """Keep the headers of a mail refused for its size, failed with the reason: visible, not lost."""
    event, _ = InboundEvent.objects.get_or_create(
        channel_account=account,
        provider_event_id=mail_event_id(head),
        defaults={
            "body": head,
            "headers": {**headers, "x-sportello-source": source},
            "content_type": "text/rfc822-headers",
            "state": InboundEvent.State.FAILED,
            "error": f"rejected: {reason}",
            "processed_at": timezone.now(),
        },
    )
    return event
