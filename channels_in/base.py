"""The neutral contract between channel adapters and the ticketing domain.

Adapters turn provider payloads into these dataclasses and nothing else; ticketing policy
(which contact, which ticket, reopen or follow-up) lives in ``tickets.services``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tickets.channel_port import AdapterError, SendResult
from tickets.inbound import InboundItem

if TYPE_CHECKING:
    from channels_in.models import ChannelAccount, InboundEvent
    from tickets.models import Message


class PayloadError(AdapterError):
    """A malformed inbound payload: the view answers 400 with ``str(error)`` as the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class EventIgnored(Exception):
    """An event deliberately not filed (our own mail coming back, …): ignored, with ``code: detail``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


class Adapter(Protocol):
    kind: str

    def parse(self, event: InboundEvent) -> list[InboundItem]: ...

    def send(self, *, account: ChannelAccount, message: Message) -> SendResult: ...
