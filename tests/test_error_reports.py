"""Error reports never show a secret: not on the debug page, not in a repr, not in a URL's password."""

from __future__ import annotations

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import technical_500_response

from channels_in.email.schemas import mailbox_config
from channels_in.models import ChannelAccount
from channels_in.webchat.schemas import config_parse

SECRET = "hunter2-widget-secret"


def _page_of_an_error_with_secrets_in_its_locals(request_factory: RequestFactory) -> str:
    request = request_factory.post("/widget/chat-1/session", {"password": "form-password"})
    account = ChannelAccount(
        kind=ChannelAccount.Kind.WEBCHAT, name="Shop", key="chat-1", config={"secret": SECRET}
    )
    config = config_parse(account.config)
    widget_settings = {"origin": "https://shop.example", "identity": {"secret": SECRET}}
    api_token = "tok-" + SECRET
    broker = f"redis://sportello:{SECRET}@cache:6379/0"
    try:
        raise RuntimeError(f"failed with {account!r} and {config!r}")
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())
    del widget_settings, api_token, broker
    return response.content.decode()


@pytest.mark.django_db
def test_the_debug_page_shows_no_secret_from_locals_settings_or_urls(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = True
    settings.CACHES = {
        **settings.CACHES,
        "spare": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"x://u:{SECRET}@h",
        },
    }

    page = _page_of_an_error_with_secrets_in_its_locals(RequestFactory())

    assert "RuntimeError" in page and "widget_settings" in page  # the page is the real one, locals listed
    assert SECRET not in page
    assert "shop.example" in page  # only the secret parts are hidden


def test_channel_configs_and_accounts_mask_their_secrets_in_repr_and_str() -> None:
    account = ChannelAccount(
        kind=ChannelAccount.Kind.WEBCHAT,
        name="Shop",
        key="chat-1",
        config={"secret": SECRET, "token": SECRET},
    )
    webchat = config_parse({"secret": SECRET})
    mailbox = mailbox_config(
        {
            "address": "help@example.com",
            "inbound_token": SECRET,
            "imap": {"host": "imap.example.com", "username": "help", "password": SECRET},
            "smtp": {"host": "smtp.example.com", "password": SECRET},
        }
    )

    for shown in (repr(account), str(account), repr(webchat), str(webchat), repr(mailbox), str(mailbox)):
        assert SECRET not in shown
    assert webchat.secret.get_secret_value() == SECRET
