"""The contract between channel adapters and the ticketing domain (docs/channels/adding-a-channel.md).

Adapters translate, they never decide: a provider's request becomes stored raw events (``route``), a
stored event becomes the domain's typed inbound items (``parse``), and an agent's reply becomes a
provider call (``send``). Ticketing policy (which contact, which ticket, reopen or follow-up) lives in
``tickets.services``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from tickets.channel_port import (
    ALWAYS_OPEN,
    STAFF_ONLY,
    AdapterError,
    Audience,
    ReplyWindow,
    SendResult,
)
from tickets.inbound import InboundItem

if TYPE_CHECKING:
    from django.http import HttpRequest

    from channels_in.models import ChannelAccount, InboundEvent
    from tickets.models import ContactIdentity, Message


class PayloadError(AdapterError):
    """A malformed inbound payload: the view answers 400 with ``str(error)`` as the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class EventIgnored(Exception):
    """An event deliberately not filed (our own mail coming back, …): ignored, with ``code: detail``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


@dataclass(frozen=True)
class RoutedEvent:
    """One provider event for one account, as ``route`` found it in a request: stored as it is."""

    account: ChannelAccount
    # The provider's id for the event: a re-delivery with the same id is acknowledged, not stored again.
    provider_event_id: str | None
    body: bytes
    content_type: str = "application/json"
    # Added to the request's kept headers on the stored event (where the event came from, …).
    headers: dict[str, str] = field(default_factory=dict)


class Adapter(Protocol):
    """One kind of channel. Registered once in ``channels_in.registry``; ``tickets`` sees it as a
    ``tickets.channel_port.Channel``.

    ``route(request)``
        Verify a provider's webhook request (signature, token) and split it into one ``RoutedEvent``
        per (account, provider event): one provider POST may carry events for several accounts (one
        app serving many pages or numbers). Raise ``channels_in.http.RequestRejected`` with a status
        and a reason to refuse it (401/403 unauthenticated, 400 malformed, 404 unknown account, 413 too
        large, 415 wrong type). It parses only what splitting and validating need; it files nothing:
        the shared view stores each event (``inbound_event_record``) and answers 2xx only after that.
    ``parse(event)``
        Turn one stored event into the domain's typed inbound items. It is **pure**: no network I/O,
        no writes, no waiting — it runs inside the drain's claim transaction, holding row locks. Files
        known only by reference stay references (``InboundAttachment.url``): ``fetch_media`` gets them
        after commit. A malformed body raises ``PayloadError`` (the event fails, with the reason); an
        event deliberately not filed raises ``EventIgnored``.
    ``send(account, message)``
        Deliver an agent's reply; return the provider's id or raise ``AdapterError(permanent=…)``.
        Called by the outbound task, never inside a transaction.
    ``fetch_media(account, ref)``
        The bytes of one file the customer sent by reference, fetched through the guarded client
        (``tickets.net``) with the account's credentials where the provider wants them; raise
        ``MediaUnavailable`` (with a ``failure`` when retrying is pointless).
    ``reply_window(account, identity, last_inbound_at)``
        Whether an agent may reply freely now, when that ends, and what the composer offers outside it.
        Pure: decided from its arguments and the account's configuration.
    ``audience``
        Who besides staff sees, live, what this channel delivers (``tickets.channel_port.Audience``).
    """

    kind: str
    audience: Audience

    def route(self, request: HttpRequest) -> list[RoutedEvent]: ...

    def parse(self, event: InboundEvent) -> list[InboundItem]: ...

    def send(self, *, account: ChannelAccount, message: Message) -> SendResult: ...

    def fetch_media(self, *, account: ChannelAccount, ref: str) -> bytes: ...

    def reply_window(
        self, *, account: ChannelAccount, identity: ContactIdentity, last_inbound_at: datetime | None
    ) -> ReplyWindow: ...


class AdapterDefaults:
    """What most channels share: files by plain URL, replies always possible, no live audience."""

    audience: Audience = STAFF_ONLY

    def fetch_media(self, *, account: ChannelAccount, ref: str) -> bytes:
        from channels_in.media import media_fetch_url

        return media_fetch_url(ref)

    def reply_window(
        self, *, account: ChannelAccount, identity: ContactIdentity, last_inbound_at: datetime | None
    ) -> ReplyWindow:
        return ALWAYS_OPEN
