"""A web process reads an API channel's account once per few seconds, and a change applies after that."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from channels_in.api import views
from channels_in.api.tests.wire import payload, post
from channels_in.models import ChannelAccount


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:  # type: ignore[no-untyped-def]
    settings.INBOUND_ACCOUNT_CACHE_SECONDS = 5
    clock = Clock()
    monkeypatch.setattr(views.time, "monotonic", clock)
    views._accounts.clear()
    yield clock
    views._accounts.clear()


@pytest.mark.django_db
def test_the_second_post_does_not_read_the_account(
    clock: Clock, api_channel: ChannelAccount, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    assert post(Client(), api_channel, payload("m-1")).status_code == 202

    # The event's insert, a single statement: no account look-up, no transaction around it.
    with django_assert_num_queries(1):
        assert post(Client(), api_channel, payload("m-2")).status_code == 202


@pytest.mark.django_db
def test_a_deactivated_channel_is_refused_once_its_entry_runs_out(
    clock: Clock, api_channel: ChannelAccount
) -> None:
    assert post(Client(), api_channel, payload("m-1")).status_code == 202
    ChannelAccount.objects.filter(pk=api_channel.pk).update(active=False)

    clock.now += 4
    assert post(Client(), api_channel, payload("m-2")).status_code == 202
    clock.now += 1.5
    assert post(Client(), api_channel, payload("m-3")).status_code == 404


@pytest.mark.django_db
def test_a_new_token_applies_once_the_entry_runs_out(clock: Clock, api_channel: ChannelAccount) -> None:
    assert post(Client(), api_channel, payload("m-1")).status_code == 202
    rotated = {**api_channel.config, "token": "rotated-token"}
    ChannelAccount.objects.filter(pk=api_channel.pk).update(config=rotated)
    api_channel.refresh_from_db()

    clock.now += 6
    assert post(Client(), api_channel, payload("m-2")).status_code == 202
    assert views._accounts[api_channel.key][1].config["token"] == "rotated-token"


@pytest.mark.django_db
def test_unknown_keys_are_not_remembered(clock: Clock) -> None:
    ghost = ChannelAccount(kind=ChannelAccount.Kind.API, key="no-such-channel", config={"token": "t"})

    assert post(Client(), ghost, payload()).status_code == 404
    assert views._accounts == {}
