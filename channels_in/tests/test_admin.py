"""The channel account admin: secrets never reach the page, and a bad config is refused saying why."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

from channels_in.admin import SECRET_MASK, ChannelAccountForm
from channels_in.models import ChannelAccount
from tests.fixtures.personas import make_api_channel

pytestmark = pytest.mark.django_db


def form_data(account: ChannelAccount, config: dict[str, object]) -> dict[str, object]:
    return {
        "kind": account.kind,
        "name": account.name,
        "key": account.key,
        "config": json.dumps(config),
        "active": "on",
        "health": "{}",
        "created_at": account.created_at.strftime("%Y-%m-%d %H:%M:%S"),
    }


def test_the_change_page_shows_secrets_masked(client: Client) -> None:
    account = make_api_channel(callback_url="https://shop.example.com/cb")
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    page = client.get(f"/admin/channels_in/channelaccount/{account.pk}/change/").content.decode()

    assert account.config["token"] not in page and account.config["secret"] not in page
    assert SECRET_MASK in page and "https://shop.example.com/cb" in page


def test_a_mask_sent_back_keeps_the_stored_secret() -> None:
    account = make_api_channel()
    stored = dict(account.config)
    shown = ChannelAccountForm(instance=account).initial["config"]
    assert shown == {**stored, "token": SECRET_MASK, "secret": SECRET_MASK}

    form = ChannelAccountForm(data=form_data(account, {**shown, "callback_timeout": 20}), instance=account)
    assert form.is_valid(), form.errors
    form.save()
    account.refresh_from_db()
    assert account.config == {**stored, "callback_timeout": 20}


def test_nested_secrets_are_masked_too() -> None:
    config = {
        "address": "help@example.com",
        "imap": {"host": "imap.example.com", "username": "u", "password": "p4ss"},
    }
    account = ChannelAccount.objects.create(kind="email", name="Help", key="help", config=config)
    shown = ChannelAccountForm(instance=account).initial["config"]
    assert shown["imap"]["password"] == SECRET_MASK and account.config["imap"]["password"] == "p4ss"


def test_a_bad_config_is_refused_with_the_field_and_the_reason() -> None:
    account = make_api_channel()
    with translation.override("en"):
        form = ChannelAccountForm(
            data=form_data(account, {"callback_url": "ftp://shop.example.com"}), instance=account
        )
        assert not form.is_valid()
        assert form.errors["config"] == [
            "Not a valid API configuration: callback_url: Value error, "
            "the callback URL starts with http:// or https://"
        ]
