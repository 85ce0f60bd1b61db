"""The port through which ``tickets`` reaches a channel's behaviour, by kind (ARCHITECTURE §2).

``tickets`` never imports ``channels_in``: it defines what it needs of a channel here, and
``channels_in`` registers an implementation per kind at start-up (its app config's ``ready``), the way
Django's app registry is filled by the apps it lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from django.db import models

    from tickets.models import Message


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


class AdapterError(Exception):
    """A send or parse failure. ``permanent`` failures are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SendResult:
    external_id: str
    metadata: dict[str, object] = field(default_factory=dict)


class Channel(Protocol):
    """What the domain asks of one kind of channel."""

    kind: str

    def send(self, *, account: Any, message: Message) -> SendResult: ...


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
