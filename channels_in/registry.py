"""Every kind of channel, each registered once: its adapter, config schema, URLs and periodic jobs.

A new channel adds one ``ChannelKind`` line to ``KINDS`` (docs/channels/adding-a-channel.md). From
here the adapters fill the port of ``tickets`` at start-up, ``channels_in.urls`` and
``channels_in.site_urls`` mount the URLs, the Celery app's beat schedule gains the periodic jobs, and
``ChannelAccount.clean`` validates an account's ``config`` with the kind's schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr, ValidationError

from tickets.channel_port import UnknownChannelKind, channel_register, channel_unregister

if TYPE_CHECKING:
    from channels_in.base import Adapter


@dataclass(frozen=True)
class BeatJob:
    """A periodic job: Celery beat runs ``task`` every ``every_setting`` seconds (a Django setting)."""

    name: str
    task: str
    every_setting: str


@dataclass(frozen=True)
class ChannelKind:
    kind: str
    # "module:Class" of the adapter (channels_in.base.Adapter).
    adapter: str
    # "module:Model" of the pydantic model that validates ``ChannelAccount.config``. Secret fields are
    # ``SecretStr`` or carry ``json_schema_extra={"secret": True}``: the admin never shows them.
    config: str
    # A URL module mounted under the inbound (webhook) prefix, api/v1/inbound/.
    webhooks: str = ""
    # (prefix, URL module) mounted at the site's root: pages and endpoints a browser calls.
    pages: tuple[str, str] | None = None
    # A module whose ``websocket_urlpatterns`` are mounted on the ASGI router (a channel's own sockets).
    sockets: str = ""
    beat: tuple[BeatJob, ...] = ()
    # Modules imported at start-up: signal receivers, system checks, task modules that Celery's
    # autodiscovery (``<app>.tasks``) does not reach.
    imports: tuple[str, ...] = ()


KINDS: tuple[ChannelKind, ...] = (
    ChannelKind(
        "api",
        adapter="channels_in.api.adapter:ApiAdapter",
        config="channels_in.api.schemas:ApiConfig",
        webhooks="channels_in.api.urls",
    ),
    ChannelKind(
        "email",
        adapter="channels_in.email.adapter:EmailAdapter",
        config="channels_in.email.schemas:MailboxConfig",
        webhooks="channels_in.email.urls",
        beat=(BeatJob("poll-mailboxes", "channels_in.email.tasks.poll_mailboxes", "EMAIL_POLL_SECONDS"),),
        # The Anymail inbound receiver (ESP webhooks must find it before the first request), the check
        # that warns of an ESP webhook enabled without its secret, the mailbox polling tasks.
        imports=("channels_in.email.signals", "channels_in.email.checks", "channels_in.email.tasks"),
    ),
    ChannelKind(
        "webchat",
        adapter="channels_in.webchat.adapter:WebchatAdapter",
        config="channels_in.webchat.schemas:WebchatConfig",
        pages=("widget/", "channels_in.webchat.urls"),
        sockets="channels_in.webchat.routing",
    ),
)

_by_kind: dict[str, ChannelKind] = {entry.kind: entry for entry in KINDS}
_cache: dict[str, Adapter] = {}


def _load(dotted: str) -> Any:
    module_name, name = dotted.split(":")
    return getattr(import_module(module_name), name)


def kind_entry(kind: str) -> ChannelKind:
    try:
        return _by_kind[kind]
    except KeyError as exc:
        raise UnknownChannelKind(kind) from exc


def kinds_registered() -> list[str]:
    return list(_by_kind)


def adapter_for(kind: str) -> Adapter:
    if kind not in _cache:
        _cache[kind] = _load(kind_entry(kind).adapter)()
    return _cache[kind]


def config_schema(kind: str) -> type[BaseModel]:
    schema: type[BaseModel] = _load(kind_entry(kind).config)
    return schema


class ConfigInvalid(ValueError):
    """A channel account's configuration its kind's schema refuses; the message names the field."""


def config_validate(kind: str, config: object) -> BaseModel:
    """``config`` validated by the kind's schema, or ``ConfigInvalid`` saying where and why."""
    if not isinstance(config, dict):
        raise ConfigInvalid("the configuration is a JSON object")
    try:
        return config_schema(kind).model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise ConfigInvalid(f"{where}: {first['msg']}") from None


def secret_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """The dotted paths of a config schema's secret fields, nested models included."""
    found = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        # A field's type may be optional (``SecretStr | None``, ``ImapConfig | None``).
        candidates = getattr(info.annotation, "__args__", (info.annotation,))
        if SecretStr in candidates or extra.get("secret"):
            found.append(path)
            continue
        for candidate in candidates:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found.extend(secret_fields(candidate, f"{path}."))
    return found


def beat_schedule(setting: Callable[[str], float]) -> dict[str, dict[str, object]]:
    """Every kind's periodic jobs as Celery beat entries; ``setting`` reads a Django setting by name."""
    schedule: dict[str, dict[str, object]] = {}
    for entry in KINDS:
        for job in entry.beat:
            schedule[job.name] = {"task": job.task, "schedule": float(setting(job.every_setting))}
    return schedule


def websocket_routes() -> list[Any]:
    """Every kind's websocket URL patterns, for the ASGI router."""
    return [
        pattern
        for entry in KINDS
        if entry.sockets
        for pattern in import_module(entry.sockets).websocket_urlpatterns
    ]


def kind_add(entry: ChannelKind) -> None:
    """Register a kind after start-up (a channel that exists only in tests): its adapter and schema.

    Its URLs are not mounted (the URL list is built once); a test mounts them in its own URL conf.
    """
    _by_kind[entry.kind] = entry
    _cache.pop(entry.kind, None)
    channel_register(adapter_for(entry.kind))


def kind_remove(kind: str) -> None:
    """Forget a kind ``kind_add`` registered."""
    if any(entry.kind == kind for entry in KINDS):
        raise ValueError(f"{kind} is a built-in kind")
    _by_kind.pop(kind, None)
    _cache.pop(kind, None)
    channel_unregister(kind)


def channels_register() -> None:
    """At start-up: import what each kind needs loaded, and give ``tickets`` every kind's adapter."""
    for entry in KINDS:
        for module in entry.imports:
            import_module(module)
        channel_register(adapter_for(entry.kind))
