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


@dataclass(frozen=True)
class EmailDetails:
    """What only a mail carries: its whole text (quotes included) and what threads it to a ticket."""

    full_text: str = ""
    # Message-IDs it answers or refers to (In-Reply-To, References), newest first.
    thread_refs: list[str] = field(default_factory=list)
    # The ticket token our replies carry (subject tag, reply address).
    ticket_token: str = ""


@dataclass
class InboundMessage:
    """One customer message, as every channel hands it to ``tickets``."""

    channel_account_id: int
    external_id: str
    sender: IdentityClaim
    sender_name: str = ""
    other_identities: list[IdentityClaim] = field(default_factory=list)
    text: str = ""
    html: str = ""
    subject: str = ""
    sent_at: datetime | None = None
    attachments: list[InboundAttachment] = field(default_factory=list)
    is_public: bool = False
    is_automatic: bool = False
    email: EmailDetails | None = None
    metadata: dict[str, object] = field(default_factory=dict)

    @property
    def identities(self) -> list[IdentityClaim]:
        return [self.sender, *self.other_identities]

    @property
    def full_text(self) -> str:
        return self.email.full_text if self.email is not None else ""

    @property
    def thread_refs(self) -> list[str]:
        return self.email.thread_refs if self.email is not None else []

    @property
    def ticket_token(self) -> str:
        return self.email.ticket_token if self.email is not None else ""


class DeliveryState:
    """What a channel reports about one of our messages."""

    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    # Not yet delivered, still being tried: nothing changes on the message.
    DELAYED = "delayed"
    # The recipient reported it as spam: a permanent failure.
    COMPLAINT = "complaint"

    PERMANENT_FAILURES = frozenset({FAILED, COMPLAINT})


@dataclass(frozen=True)
class DeliveryReport:
    """A status that came as a message of its own (an email bounce): kept on the ticket's timeline."""

    external_id: str = ""
    subject: str = ""
    full_text: str = ""
    sent_at: datetime | None = None
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryStatus:
    """A delivery or read status for one of our messages.

    Our message is named by its provider ids (``message_ids``); a report that cannot name it (a bounce
    quoting only the address) names the ``recipients`` and the ``thread_refs`` it carries.
    """

    channel_account_id: int
    state: str
    message_ids: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    thread_refs: list[str] = field(default_factory=list)
    # The provider's status code (an SMTP enhanced status, an API error code) and its words.
    code: str = ""
    diagnostic: str = ""
    at: datetime | None = None
    report: DeliveryReport | None = None


@dataclass(frozen=True)
class MessageEdit:
    """The customer changed a message they sent earlier (named by its provider id)."""

    channel_account_id: int
    external_id: str
    text: str
    html: str = ""
    edited_at: datetime | None = None


@dataclass(frozen=True)
class MessageDelete:
    """The customer deleted a message they sent earlier (named by its provider id)."""

    channel_account_id: int
    external_id: str
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class Reaction:
    """An emoji the customer put on a message (theirs or ours), or took back (``removed``)."""

    channel_account_id: int
    external_id: str
    sender: IdentityClaim
    emoji: str
    removed: bool = False
    at: datetime | None = None


InboundItem = InboundMessage | DeliveryStatus | MessageEdit | MessageDelete | Reaction


@dataclass(frozen=True)
class Filed:
    """What became of one inbound item: the timeline entry it filed or changed, or why none.

    An item about a message this installation does not hold (a status for a mail it never sent, an
    edit of an unknown message) is not an error: it is set aside with a ``code`` and its ``reason``.
    """

    message_id: int | None
    code: str = ""
    reason: str = ""
    # The ticket the message joined (or the one holding the message the item was about).
    ticket_id: int | None = None
