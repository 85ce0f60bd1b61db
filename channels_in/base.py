"""The neutral contract between channel adapters and the ticketing domain.

Adapters turn provider payloads into these dataclasses and nothing else; ticketing policy
(which contact, which ticket, reopen or follow-up) lives in ``tickets.services``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from channels_in.models import ChannelAccount, InboundEvent
    from tickets.models import Message


class IdentityKind:
    EMAIL = "email"
    PHONE = "phone"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    X = "x"
    WEBCHAT = "webchat"
    API = "api"

    CHOICES = [
        (EMAIL, "Email"),
        (PHONE, "Phone"),
        (MESSENGER, "Messenger"),
        (INSTAGRAM, "Instagram"),
        (WHATSAPP, "WhatsApp"),
        (TELEGRAM, "Telegram"),
        (X, "X"),
        (WEBCHAT, "Web chat visitor"),
        (API, "API"),
    ]


@dataclass(frozen=True)
class IdentityClaim:
    """An identity a message claims for its sender.

    ``verified`` is True only when the provider vouches for it (a Messenger PSID, an HMAC-signed
    widget user, a trusted integrator); unverified claims never merge contacts on their own.
    """

    kind: str
    value: str
    verified: bool = False


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes | None = None
    url: str = ""
    content_id: str = ""
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.content) if self.content is not None else 0


@dataclass
class InboundMessage:
    """One customer message, as every channel hands it to ``ingest_inbound_message``."""

    channel_account_id: int
    external_id: str
    sender: IdentityClaim
    sender_name: str = ""
    other_identities: list[IdentityClaim] = field(default_factory=list)
    text: str = ""
    html: str = ""
    full_text: str = ""
    subject: str = ""
    sent_at: datetime | None = None
    attachments: list[InboundAttachment] = field(default_factory=list)
    is_public: bool = False
    is_automatic: bool = False
    is_bounce: bool = False
    thread_refs: list[str] = field(default_factory=list)
    ticket_token: str = ""
    metadata: dict[str, object] = field(default_factory=dict)

    @property
    def identities(self) -> list[IdentityClaim]:
        return [self.sender, *self.other_identities]


class AdapterError(Exception):
    """A send or parse failure. ``permanent`` failures are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


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
class SendResult:
    external_id: str
    metadata: dict[str, object] = field(default_factory=dict)


class Adapter(Protocol):
    kind: str

    def parse(self, event: InboundEvent) -> list[InboundMessage]: ...

    def send(self, *, account: ChannelAccount, message: Message) -> SendResult: ...
