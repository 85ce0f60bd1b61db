"""The only way ``tickets`` reaches a channel: by kind, never by importing an adapter."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from channels_in.base import Adapter

_ADAPTERS: dict[str, str] = {
    "api": "channels_in.api.adapter:ApiAdapter",
    "email": "channels_in.email.adapter:EmailAdapter",
    "webchat": "channels_in.webchat.adapter:WebchatAdapter",
}
_cache: dict[str, Adapter] = {}


class UnknownChannelKind(LookupError):
    pass


def adapter_for(kind: str) -> Adapter:
    if kind not in _cache:
        try:
            module_name, class_name = _ADAPTERS[kind].split(":")
        except KeyError as exc:
            raise UnknownChannelKind(kind) from exc
        _cache[kind] = getattr(import_module(module_name), class_name)()
    return _cache[kind]
