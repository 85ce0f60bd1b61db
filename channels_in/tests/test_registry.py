"""Every registered kind keeps the whole contract, and is registered in one place for everything."""

from __future__ import annotations

import inspect

import pytest
from celery import current_app
from django.core.exceptions import ValidationError
from django.urls import Resolver404, resolve
from django.utils import translation

from channels_in.base import Adapter
from channels_in.models import ChannelAccount
from channels_in.registry import (
    KINDS,
    ConfigInvalid,
    adapter_for,
    config_schema,
    config_validate,
    kinds_registered,
    secret_fields,
)
from tickets.channel_port import Audience, Channel, channel_for

GOOD = {
    "api": {"token": "t0k3n", "callback_url": "https://shop.example.com/replies", "trust_identities": True},
    "email": {
        "address": "help@example.com",
        "imap": {"host": "imap.example.com", "username": "help", "password": "imap-pass"},
        "inbound_token": "mta-token",
    },
    "webchat": {"allowed_origins": ["https://shop.example.com"], "secret": "s3cret", "color": "#112233"},
}
# Each refused with the field it names.
BAD = {
    "api": ({"callback_timeout": 0}, "callback_timeout"),
    "email": ({"address": "not an address"}, "address"),
    "webchat": ({"color": "blue"}, "color"),
}
SECRETS = {
    "api": {"token", "secret"},
    "email": {"imap.password", "smtp.password", "inbound_token"},
    "webchat": {"secret"},
}
# A URL each kind mounts, from its registry entry.
MOUNTED = {
    "api": "/api/v1/inbound/some-key/messages",
    "email": "/api/v1/inbound/email/some-key/raw",
    "webchat": "/widget/some-key/config.json",
}


def test_the_registry_knows_the_kinds_we_ship() -> None:
    assert kinds_registered() == ["api", "email", "webchat"]


@pytest.mark.parametrize("kind", [entry.kind for entry in KINDS])
def test_every_kind_implements_the_whole_contract(kind: str) -> None:
    adapter = adapter_for(kind)
    assert adapter.kind == kind
    # The port of tickets holds the very same adapter.
    assert channel_for(kind) is adapter
    assert isinstance(adapter.audience, Audience)
    for protocol in (Adapter, Channel):
        for name, member in vars(protocol).items():
            if callable(member) and not name.startswith("_"):
                implemented = getattr(adapter, name, None)
                assert callable(implemented), f"{kind} lacks {name}"
                expected = set(inspect.signature(member).parameters) - {"self"}
                assert set(inspect.signature(implemented).parameters) == expected, f"{kind}.{name}"


@pytest.mark.parametrize("kind", [entry.kind for entry in KINDS])
def test_every_kind_validates_its_config(kind: str) -> None:
    config_validate(kind, GOOD[kind])
    bad, field = BAD[kind]
    with pytest.raises(ConfigInvalid, match=f"^{field}: "):
        config_validate(kind, bad)
    with pytest.raises(ConfigInvalid, match="JSON object"):
        config_validate(kind, ["not", "an", "object"])


@pytest.mark.parametrize("kind", [entry.kind for entry in KINDS])
def test_every_kind_marks_its_secrets(kind: str) -> None:
    assert set(secret_fields(config_schema(kind))) == SECRETS[kind]


@pytest.mark.parametrize("kind", [entry.kind for entry in KINDS])
def test_every_kind_has_its_urls_mounted(kind: str) -> None:
    match = resolve(MOUNTED[kind])
    entry = next(e for e in KINDS if e.kind == kind)
    assert match.func.__module__.startswith(f"channels_in.{kind}") or match.func.__name__ == f"{kind}_webhook"
    assert (entry.webhooks or (entry.pages or ("", ""))[1]).startswith(f"channels_in.{kind}.")


def test_a_kind_without_pages_mounts_none() -> None:
    with pytest.raises(Resolver404):
        resolve("/widget/api/messages/x")


def test_beat_runs_every_kind_s_periodic_jobs(settings) -> None:  # type: ignore[no-untyped-def]
    schedule = current_app.conf.beat_schedule
    jobs = [job for entry in KINDS for job in entry.beat]
    assert [job.name for job in jobs] == ["poll-mailboxes"]
    for job in jobs:
        assert schedule[job.name] == {
            "task": job.task,
            "schedule": float(getattr(settings, job.every_setting)),
        }
        assert job.task in current_app.tasks
    # The sweeps of the settings are still there beside them.
    assert {"requeue-stale-events", "requeue-stale-messages"} <= schedule.keys()


@pytest.mark.django_db
def test_an_account_config_is_validated_with_a_clear_error() -> None:
    with translation.override("en"):
        account = ChannelAccount(kind="webchat", name="Shop", key="shop", config={"color": "blue"})
        with pytest.raises(ValidationError) as refused:
            account.full_clean()
        assert refused.value.message_dict["config"] == [
            "Not a valid Web chat configuration: color: Value error, color is #rrggbb"
        ]
        account.config = GOOD["webchat"]
        account.full_clean()

        ghost = ChannelAccount(kind="telegram", name="Bot", key="bot", config={})
        with pytest.raises(ValidationError) as refused:
            ghost.full_clean()
        assert refused.value.message_dict["kind"] == ["No channel of this kind is available."]


def test_a_kind_s_sockets_are_mounted_on_the_asgi_router() -> None:
    from channels_in.webchat.consumers import WidgetConsumer
    from helpdesk.routing import websocket_urlpatterns

    routes = {str(pattern.pattern): pattern for pattern in websocket_urlpatterns}
    widget = routes["ws/widget/<slug:channel_key>/"]
    assert getattr(widget.callback, "consumer_class", None) is WidgetConsumer
    assert "ws/agent/" in routes
    # Only the web chat has sockets of its own.
    assert [entry.kind for entry in KINDS if entry.sockets] == ["webchat"]
