from __future__ import annotations

from typing import Any

from channels_in.email.intake import mail_record
from channels_in.models import ChannelAccount, InboundEvent


def receive(account: ChannelAccount, raw: bytes, capture: Any) -> InboundEvent:
    """Record a mail as any intake path does and run its processing, as the worker would on commit."""
    with capture(execute=True):
        recorded = mail_record(account=account, raw=raw, source="test")
    recorded.event.refresh_from_db()
    return recorded.event
