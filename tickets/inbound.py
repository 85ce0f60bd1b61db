"""The domain's input vocabulary: what every channel hands to ``tickets`` (ARCHITECTURE §2, §4).

Channel adapters build these and nothing else; ticketing policy (which contact, which ticket, reopen or
follow-up) lives in ``tickets.services``. ``channels_in`` imports this module, never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
