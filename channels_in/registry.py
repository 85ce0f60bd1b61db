"""Every kind of channel by name: adapters are found here, and fill the port of ``tickets`` at start-up."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from tickets.channel_port import UnknownChannelKind, channel_register

if TYPE_CHECKING:
    from channels_in.base import Adapter

_ADAPTERS: dict[str, str] = {
    "api": "channels_in.api.adapter:ApiAdapter",
    "email": "channels_in.email.adapter:EmailAdapter",
    "webchat": "channels_in.webchat.adapter:WebchatAdapter",
}
_cache: dict[str, Adapter] = {}


def adapter_for(kind: str) -> Adapter:
    if kind not in _cache:
        try:
            module_name, class_name = _ADAPTERS[kind].split(":")
        except KeyError as exc:
            raise UnknownChannelKind(kind) from exc
        _cache[kind] = getattr(import_module(module_name), class_name)()
    return _cache[kind]


def channels_register() -> None:
    """Give ``tickets`` every kind's adapter through its port (``tickets.channel_port``)."""
    for kind in _ADAPTERS:
        channel_register(adapter_for(kind))
