"""The port through which ``tickets`` reaches a channel's behaviour, by kind (ARCHITECTURE §2).

``tickets`` never imports ``channels_in``: it defines what it needs of a channel here, and
``channels_in`` registers an implementation per kind at start-up (its app config's ``ready``), the way
Django's app registry is filled by the apps it lists. What the domain asks of a channel:

- ``send``: deliver an agent's reply;
- ``fetch_media``: the bytes of a file a customer sent by reference, fetched with the account's
  credentials where the provider wants them;
- ``reply_window``: whether a reply may go to a customer now, and what the composer offers if not;
- ``audience``: who besides staff sees, live, what the channel delivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from django.db import models

    from tickets.models import ContactIdentity, Message


class ChannelAccountLike(Protocol):
    """The fields of a channel account (``Message.channel_account``) that the domain reads."""

    @property
    def pk(self) -> Any: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def config(self) -> Any: ...
    @property
    def default_team_id(self) -> int | None: ...
    @property
    def active(self) -> bool: ...


def channel_account_model() -> type[models.Model]:
    """The channel account model, as the domain's relations name it, without importing its app."""
    from tickets.models import Message

    model = Message._meta.get_field("channel_account").related_model
    if not isinstance(model, type):
        raise LookupError("Message.channel_account is not bound to a model yet")
    return model


def channel_account_get(pk: Any) -> ChannelAccountLike:
    """The channel account ``pk``, read through the port (``DoesNotExist`` if there is none)."""
    return cast("ChannelAccountLike", channel_account_model()._default_manager.get(pk=pk))


class AdapterError(Exception):
    """A send or parse failure. ``permanent`` failures are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SendResult:
    external_id: str
    metadata: dict[str, object] = field(default_factory=dict)


class MediaFailure(StrEnum):
    """Why a file will never be fetched (stored as ``Attachment.fetch_failure``)."""

    REFUSED = "refused"
    TOO_LARGE = "too_large"
    GONE = "gone"


class MediaUnavailable(Exception):
    """``fetch_media`` could not hand over the file; without a ``failure`` it is worth another try."""

    def __init__(self, reason: str, *, failure: MediaFailure | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.failure = failure


class ReplyOffer(StrEnum):
    """What the composer offers once a channel's reply window has closed."""

    # Only a message template the provider has approved may be sent until the customer writes again.
    TEMPLATE = "template"
    # Nothing may be sent on this channel until the customer writes again.
    NONE = "none"


@dataclass(frozen=True)
class ReplyWindow:
    """Whether an agent may reply freely to one customer identity on one account now."""

    open: bool
    # When an open window closes (None: it does not), or when a closed one closed.
    closes_at: datetime | None = None
    outside: ReplyOffer = ReplyOffer.NONE


ALWAYS_OPEN = ReplyWindow(open=True)


@dataclass(frozen=True)
class Audience:
    """Who besides staff sees, live, what a channel delivers.

    ``identity_kind`` names the customer identity that watches the conversation as it happens (web
    chat's visitor, in the widget): customer-facing messages to or from such an identity reach it.
    Empty: nobody does (mail and API replies reach the customer only when they are sent).
    """

    identity_kind: str = ""

    def visitor_of(self, message: Message) -> str | None:
        """The identity value that may see ``message`` live, if any."""
        identity = message.identity
        if not self.identity_kind or identity is None or identity.kind != self.identity_kind:
            return None
        return identity.value


STAFF_ONLY = Audience()


class Channel(Protocol):
    """What the domain asks of one kind of channel."""

    kind: str
    audience: Audience

    def send(self, *, account: Any, message: Message) -> SendResult: ...

    def fetch_media(self, *, account: Any, ref: str) -> bytes:
        """The file ``ref`` names (a URL, a provider media id), or ``MediaUnavailable``."""
        ...

    def reply_window(
        self, *, account: Any, identity: ContactIdentity, last_inbound_at: datetime | None
    ) -> ReplyWindow: ...


class UnknownChannelKind(LookupError):
    pass


_channels: dict[str, Channel] = {}


def channel_register(channel: Channel) -> None:
    """Make ``channel`` the implementation of its kind (called once per kind at start-up)."""
    _channels[channel.kind] = channel


def channel_for(kind: str) -> Channel:
    try:
        return _channels[kind]
    except KeyError as exc:
        raise UnknownChannelKind(kind) from exc


def channel_audience(kind: str) -> Audience:
    """The audience of ``kind``; a kind nobody registered shows nothing to anyone outside staff."""
    channel = _channels.get(kind)
    return channel.audience if channel is not None else STAFF_ONLY


def channels_watched() -> dict[str, str]:
    """Each kind whose customers watch live, with the identity kind that does."""
    return {
        kind: channel.audience.identity_kind
        for kind, channel in _channels.items()
        if channel.audience.identity_kind
    }


def channel_unregister(kind: str) -> None:
    """Forget ``kind`` (a channel registered for a while, as tests do)."""
    _channels.pop(kind, None)
